"""The residual network (ResNet) of Wang et al. (2017) as in Ismail Fawaz et al. (2019, DMKD),
its Keras builder; its numbers are ``networks.RESNET_SPEC``.

Three residual blocks (``networks.RESNET_BLOCKS``) of 64, 128 and 128 filters. A block: three
Conv1D of widths 8, 5 and 3 (stride 1, 'same' padding, with bias), each followed by batch
normalisation, a ReLU after the first two; the third batch norm's output is added to the
shortcut (a 1x1 Conv1D + batch norm where the channels change, blocks 1 and 2; batch norm
alone in block 3), then a ReLU. Global average pooling over time, and a softmax layer with one
unit per class. The input shape is (None, 1): one network takes any length.
"""

from __future__ import annotations

import keras
from keras import layers

from transfer_tsc.networks import (
    FEATURES,
    RESNET_SPEC,
    resnet_blocks,
    seeded_convolutions,
    softmax_head,
)

RECEPTIVE_FIELD = RESNET_SPEC.receptive_field  # 1 + 3 x (7 + 4 + 2)


def build_resnet(n_classes: int, seed: int | None = None) -> keras.Model:
    """The ResNet for ``n_classes`` classes, weights initialised from ``seed``: the i-th
    convolution (in building order, 1-based) from ``seed + i``, the head from ``seed``."""
    conv = seeded_convolutions(seed)

    inputs = keras.Input(shape=(None, 1), name="series")
    x = inputs
    for b, block in enumerate(resnet_blocks(), start=1):
        y = x
        for i, width in enumerate(block.widths, start=1):
            y = conv(block.filters, width, f"block{b}_conv{i}")(y)
            y = layers.BatchNormalization(name=f"block{b}_bn{i}")(y)
            if i < len(block.widths):
                y = layers.Activation("relu", name=f"block{b}_relu{i}")(y)
        shortcut = x
        if block.shortcut_conv:
            shortcut = conv(block.filters, 1, f"block{b}_shortcut_conv")(shortcut)
        shortcut = layers.BatchNormalization(name=f"block{b}_shortcut_bn")(shortcut)
        x = layers.Add(name=f"block{b}_add")([y, shortcut])
        x = layers.Activation("relu", name=f"block{b}_out")(x)
    x = layers.GlobalAveragePooling1D(name=FEATURES)(x)
    outputs = softmax_head(n_classes, seed)(x)
    return keras.Model(inputs, outputs, name=RESNET_SPEC.name)
