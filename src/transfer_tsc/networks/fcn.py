"""The Fully Convolutional Network of Wang et al. (2017) as used in the paper (section III-A, Fig.
3), its Keras builder; its numbers are ``networks.FCN_SPEC``.

Three blocks Conv1D -> BatchNormalization -> ReLU with 128 filters of width 8, 256 of width 5 and
128 of width 3 (stride 1, 'same' padding), global average pooling over time, and a softmax
layer with one unit per class. The input shape is (None, 1): one network takes any length.
"""

from __future__ import annotations

import keras
from keras import layers

from transfer_tsc.networks import (
    FCN_CONV_BLOCKS,
    FCN_SPEC,
    FEATURES,
    seeded_convolutions,
    softmax_head,
)

CONV_BLOCKS = FCN_CONV_BLOCKS
RECEPTIVE_FIELD = FCN_SPEC.receptive_field  # 8 + 5 + 3 - 2


def build_fcn(n_classes: int, seed: int | None = None) -> keras.Model:
    """The paper's FCN for ``n_classes`` classes, weights initialised from ``seed``."""
    conv = seeded_convolutions(seed)  # block k's kernel from seed + k
    inputs = keras.Input(shape=(None, 1), name="series")
    x = inputs
    for block, (filters, width) in enumerate(CONV_BLOCKS, start=1):
        x = conv(filters, width, f"conv{block}")(x)
        x = layers.BatchNormalization(name=f"bn{block}")(x)
        x = layers.Activation("relu", name=f"relu{block}")(x)
    x = layers.GlobalAveragePooling1D(name=FEATURES)(x)
    outputs = softmax_head(n_classes, seed)(x)
    return keras.Model(inputs, outputs, name=FCN_SPEC.name)
