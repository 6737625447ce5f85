"""Transfer learning for time series classification (Ismail Fawaz et al., IEEE BigData 2018).

Modules, in the order of the pipeline: ``data`` (UCR archives), ``demo`` (generated demo
archive), ``fcn`` (the network, section III-A/B), ``training`` (the training engine),
``transfer`` (pre-training and fine-tuning, section IV-B), ``study`` (pairs, batches, result
tables), ``config`` (validated settings), ``io`` (atomic files), ``workflow`` (rule scripts).
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN notices) would fill every job's log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
