"""The Fully Convolutional Network of Wang et al. (2017) as used in the paper (section III-A, Fig.
3),
and its adaptation to a new target dataset (section III-B).

Three blocks Conv1D -> BatchNormalization -> ReLU with 128 filters of width 8, 256 of width 5 and
128 of width 3 (stride 1, 'same' padding), global average pooling over time, and a softmax
layer with one unit per class. The input shape is (None, 1): one network takes any length.
"""

from __future__ import annotations

import keras
from keras import layers

CONV_BLOCKS: tuple[tuple[int, int], ...] = ((128, 8), (256, 5), (128, 3))
# Time steps one output of the last convolution sees: 8 + 5 + 3 - 2.
RECEPTIVE_FIELD = sum(width for _, width in CONV_BLOCKS) - (len(CONV_BLOCKS) - 1)
HEAD = "softmax"
FEATURES = "gap"


def softmax_head(n_classes: int, seed: int | None) -> layers.Dense:
    """A new softmax layer with Glorot-uniform weights (section III-B), computed in float32 also
    under a mixed-precision policy (the probabilities and the loss keep their precision)."""
    return layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        dtype="float32",
        name=HEAD,
    )


def build_fcn(n_classes: int, seed: int | None = None) -> keras.Model:
    """The paper's FCN for ``n_classes`` classes, weights initialised from ``seed``."""
    inputs = keras.Input(shape=(None, 1), name="series")
    x = inputs
    for block, (filters, width) in enumerate(CONV_BLOCKS, start=1):
        x = layers.Conv1D(
            filters,
            width,
            strides=1,
            padding="same",
            kernel_initializer=keras.initializers.GlorotUniform(
                seed=None if seed is None else seed + block
            ),
            name=f"conv{block}",
        )(x)
        x = layers.BatchNormalization(name=f"bn{block}")(x)
        x = layers.Activation("relu", name=f"relu{block}")(x)
    x = layers.GlobalAveragePooling1D(name=FEATURES)(x)
    outputs = softmax_head(n_classes, seed)(x)
    return keras.Model(inputs, outputs, name="fcn")


def with_new_head(source: keras.Model, n_classes: int, seed: int | None = None) -> keras.Model:
    """The source network with its softmax replaced by a new one for ``n_classes`` classes.

    Every other layer (and its weights) is the source's; the whole network stays trainable.
    """
    features = source.get_layer(FEATURES).output
    # inputs[0], not the list: the model takes one array, as build_fcn's does (a list input
    # makes Keras warn on every call with an array)
    return keras.Model(source.inputs[0], softmax_head(n_classes, seed)(features), name="fcn")
