"""Transfer learning for time series classification (Ismail Fawaz et al., IEEE BigData 2018).

Modules, in the order of the pipeline: ``data`` (UCR archives), ``demo`` (generated demo
archive), ``fcn`` (the network, section III-A/B), ``recipe`` (the training settings, Table I),
``engines`` (S models stepped together), ``checkpoints`` (resumable training state),
``training`` (the training loop),
``gpu_plan`` (fine-tunings per GPU), ``transfer`` (pre-training and fine-tuning, section IV-B),
``study`` (pairs, batches, result tables), ``dtw`` (squared DTW between series, its window
band), ``prototypes`` (DBA prototypes, Algorithm 1), ``similarity`` (DTW between datasets,
section III-C), ``transferability`` (LEEP, NCE, LogME, H-score), ``analysis``, ``selection``
and ``figures`` (section V and the source-selection comparison), ``published`` (the paper's
published results), ``recommend`` and ``zoo`` (a user's own dataset), ``settings`` (the validated
configuration), ``io`` (atomic files), ``errors``, ``runner`` (running one job), ``recovery``
(resuming after a kill), ``jobs`` (one function per rule), ``cli`` (the command).
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN notices) would fill every job's log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
