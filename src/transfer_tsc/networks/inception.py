"""The InceptionTime network of Ismail Fawaz et al. (2020, DMKD), one network of the ensemble,
its Keras builder; its numbers are ``networks.INCEPTION_SPEC``.

Six Inception modules (``networks.INCEPTION_*``). A module: a 1x1 bottleneck Conv1D of 32
filters where its input has more than one channel (not the first module, on the univariate
series); on its output (or the input) three Conv1D of 32 filters, widths 40, 20 and 10; beside
them MaxPool1D (pool 3, stride 1) on the module's input and a 1x1 Conv1D of 32 filters; the
four branches concatenated (128 channels), batch normalisation, ReLU. Every convolution is
stride 1, 'same' padding, without bias. After modules 3 and 6 a residual shortcut from the
stretch's input (the series; module 3's output): 1x1 Conv1D of 128 filters + batch norm, added
to the module's output, then a ReLU. Global average pooling over time, and a softmax layer
with one unit per class. The input shape is (None, 1): one network takes any length.
"""

from __future__ import annotations

import keras
from keras import layers

from transfer_tsc.networks import (
    FEATURES,
    INCEPTION_BOTTLENECK,
    INCEPTION_CHANNELS,
    INCEPTION_FILTERS,
    INCEPTION_POOL,
    INCEPTION_SPEC,
    INCEPTION_WIDTHS,
    inception_modules,
    seeded_convolutions,
    softmax_head,
)

RECEPTIVE_FIELD = INCEPTION_SPEC.receptive_field  # 1 + 6 x 39


def build_inception(n_classes: int, seed: int | None = None) -> keras.Model:
    """The Inception network for ``n_classes`` classes, weights initialised from ``seed``: the
    i-th convolution (in building order, 1-based) from ``seed + i``, the head from ``seed``."""
    conv = seeded_convolutions(seed, use_bias=False)

    inputs = keras.Input(shape=(None, 1), name="series")
    x = stretch = inputs
    for m, module in enumerate(inception_modules(), start=1):
        branch_in = x
        if module.bottleneck:
            branch_in = conv(INCEPTION_BOTTLENECK, 1, f"module{m}_bottleneck")(x)
        branches = [
            conv(INCEPTION_FILTERS, width, f"module{m}_conv{width}")(branch_in)
            for width in INCEPTION_WIDTHS
        ]
        pooled = layers.MaxPooling1D(
            INCEPTION_POOL, strides=1, padding="same", name=f"module{m}_pool"
        )(x)
        branches.append(conv(INCEPTION_FILTERS, 1, f"module{m}_pool_conv")(pooled))
        x = layers.Concatenate(axis=-1, name=f"module{m}_concat")(branches)
        x = layers.BatchNormalization(name=f"module{m}_bn")(x)
        x = layers.Activation("relu", name=f"module{m}_relu")(x)
        if module.shortcut_in is not None:
            shortcut = conv(INCEPTION_CHANNELS, 1, f"module{m}_shortcut_conv")(stretch)
            shortcut = layers.BatchNormalization(name=f"module{m}_shortcut_bn")(shortcut)
            x = layers.Add(name=f"module{m}_add")([x, shortcut])
            x = layers.Activation("relu", name=f"module{m}_out")(x)
            stretch = x
    x = layers.GlobalAveragePooling1D(name=FEATURES)(x)
    outputs = softmax_head(n_classes, seed)(x)
    return keras.Model(inputs, outputs, name=INCEPTION_SPEC.name)
