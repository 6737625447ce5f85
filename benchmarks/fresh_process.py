"""What the training benchmarks share: one measurement in a fresh Python process, the load, and
the Keras callbacks of the paper's code.

A benchmark script runs itself again as ``script --child '<json spec>'``; the child prints its
result as one JSON line. A fresh process per measurement means no runner inherits another's
compiled graphs, thread pools or Keras backend, and its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable


def measure(script: str, spec: dict, backend: str, extra_path: str | None = None) -> dict:
    """Run ``script --child spec`` with ``KERAS_BACKEND=backend`` (and ``extra_path`` first on
    ``PYTHONPATH``); its last JSON line, or the spec with an ``error``."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, script, "--child", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {**spec, "backend": backend, "error": " | ".join(tail)}
    return {**json.loads(lines[-1]), "backend": backend}


def add_child_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every such benchmark takes: ``--aeon-path``, ``--json`` and the hidden
    ``--child`` (the spec a fresh process measures)."""
    parser.add_argument(
        "--aeon-path", default=None, help="extra PYTHONPATH where aeon is installed"
    )
    parser.add_argument("--json", default=None, help="also write every measurement here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)


def answer_child(args: argparse.Namespace, child: Callable[[dict], dict]) -> bool:
    """In a child process (``--child`` given): print ``child(spec)`` as one JSON line. Whether
    this is one (then the script has nothing more to do)."""
    if args.child:
        print(json.dumps(child(json.loads(args.child))), flush=True)
    return bool(args.child)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def plateau_callback():
    """The paper's code's learning-rate schedule as a Keras callback: ReduceLROnPlateau on the
    train loss, factor 0.5, patience 50, down to 1e-4."""
    import keras

    return keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=50, min_lr=1e-4)


def paper_fit_callbacks(folder: str) -> list:
    """The callbacks of the paper's code's ``fit``: the plateau schedule, and ModelCheckpoint
    writing the model of the lowest train loss to ``folder/best_model.h5`` each time it falls."""
    import keras

    return [
        plateau_callback(),
        keras.callbacks.ModelCheckpoint(
            f"{folder}/best_model.h5", monitor="loss", save_best_only=True
        ),
    ]
