"""Transfer learning for time series classification (Ismail Fawaz et al., IEEE BigData 2018).

The folders are the layers, each using only the ones below it (README, "The workflow"):
``workflow`` (what the Snakemake rules call) -> the applications ``settings``, ``zoo``,
``recommend``, ``cli`` -> ``training`` (recipe, engines, loop, pre-training and fine-tuning)
-> ``networks`` (the network specs) ; ``similarity`` (DTW, DBA prototypes, distances between
datasets) ; ``report`` (section V's tables and figures, the published results) -> the core:
``data``, ``demo``, ``study``, ``transferability``, ``io``, ``console``, ``errors``.
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN notices) would fill every job's log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
