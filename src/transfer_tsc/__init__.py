"""Transfer learning for time series classification (Ismail Fawaz et al., IEEE BigData 2018).

The folders are the layers, each using only the ones below it (README, "The workflow"):
``workflow`` (what the Snakemake rules call) -> the applications ``settings``, ``zoo``,
``recommend``, ``cli``, ``classifier`` -> ``training`` (recipe, engines, loop, pre-training and
fine-tuning) -> ``networks`` (the network specs) ; ``similarity`` (DTW, DBA prototypes, distances
between datasets) ; ``report`` (section V's tables and figures, the published results) -> the
core: ``data``, ``archive``, ``demo``, ``study``, ``transferability``, ``io``, ``console``,
``errors``.

From Python (README, "From Python"): ``TransferClassifier`` (``classifier``), a scikit-learn
estimator; ``recommend_sources`` (``classifier``), the ranking of ``transfer-tsc recommend``;
``load_ucr`` (``archive``), a UCR dataset as aeon-layout arrays. They are imported on first use,
so ``import transfer_tsc`` imports neither scikit-learn nor Keras.
"""

import importlib
import os

# TensorFlow's C++ start-up chatter (oneDNN notices) would fill every job's log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# name -> the module that defines it, imported when the name is first used
_LAZY = {
    "TransferClassifier": "classifier",
    "recommend_sources": "classifier",
    "load_ucr": "archive",
}
__all__ = ["TransferClassifier", "recommend_sources", "load_ucr", "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
