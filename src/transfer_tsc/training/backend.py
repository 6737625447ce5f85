"""The Keras backend a process trains on, chosen before Keras is imported, and Keras imported
without TensorFlow's start-up notices."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


def use_backend(name: str) -> str:
    """Set ``KERAS_BACKEND`` to ``name`` (``tensorflow``, ``jax``, ``torch``) and import Keras.

    Must run before Keras is imported; if Keras already runs on another backend, raise.
    """
    os.environ["KERAS_BACKEND"] = name
    if "keras" in sys.modules:
        running = sys.modules["keras"].backend.backend()
        if running != name:
            raise RuntimeError(
                f"Keras was imported on the {running} backend before use_backend({name!r})"
            )
    import_keras_quietly()
    return name


def import_keras_quietly() -> None:
    """Import Keras and, where it is installed, TensorFlow with the process's stderr (file
    descriptor 2) on /dev/null, and on the TensorFlow backend let it look for its devices there
    too. TensorFlow's C++ libraries print start-up notices through absl before they read
    TF_CPP_MIN_LOG_LEVEL (oneDNN, CUDA stubs, "failed call to cuInit" on a machine without a
    GPU), about 20 lines a job. On another backend Keras imports TensorFlow later, on its own,
    when it seeds the generators or reads an HDF5 model, so it is imported here first. A failed
    import of Keras still raises its exception, printed once stderr is back."""
    if "keras" in sys.modules:
        return
    with _stderr_to_devnull():
        import keras

        try:
            import tensorflow as tf
        except ImportError:  # not installed, or hidden (benchmarks/gpu_check.py)
            return
        if keras.backend.backend() == "tensorflow":
            tf.config.list_physical_devices()


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    """File descriptor 2 on /dev/null for the block (what C++ libraries write there too)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
