"""The networks a study can train (section III-A), each a spec in one registry.

The contract every network keeps (fine-tuning, source scoring and the GPU plan rely on it): one
input of shape (None, 1), a global-average-pooling layer named ``FEATURES`` and, on it, a
softmax layer named ``HEAD`` with one unit per class. Fine-tuning (section III-B) replaces the
head (``with_new_head``). A ``NetworkSpec`` holds a network's numbers without Keras; its
builder is imported only when a model is built, so importing this package never imports Keras.
The networks: the FCN of Wang et al. 2017 (``fcn``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from transfer_tsc.errors import InputError

if TYPE_CHECKING:
    import keras

FEATURES = "gap"  # the feature layer: global average pooling over time
HEAD = "softmax"  # the classification head: a softmax Dense layer on the features


@dataclass(frozen=True)
class NetworkSpec:
    """A network's numbers, without Keras.

    ``saved_channels``: per block, the channels of each tensor it keeps for the backward pass
    (the GPU plan's activations). ``body_params``: the parameters below the head (weights,
    biases, batch norm's 2 trained + 2 moving per channel). ``features``: the width of the
    feature layer. ``builder``: ``"module:function"``, called as ``function(n_classes, seed)``.
    """

    name: str
    title: str  # as messages name it
    receptive_field: int  # time steps one output of the last convolution sees
    saved_channels: tuple[tuple[int, ...], ...]
    body_params: int
    features: int
    builder: str

    def params(self, n_classes: int) -> int:
        """Parameters for ``n_classes`` classes: body_params + (features + 1) x n_classes."""
        return self.body_params + (self.features + 1) * n_classes

    def build(self, n_classes: int, seed: int | None = None) -> keras.Model:
        """The network for ``n_classes`` classes, weights initialised from ``seed`` (imports
        the builder, hence Keras)."""
        module, function = self.builder.split(":")
        return getattr(importlib.import_module(module), function)(n_classes, seed=seed)


# The FCN of Wang et al. (2017) (section III-A, Fig. 3): (filters, width) of its three blocks
# Conv1D -> BatchNormalization -> ReLU, stride 1, 'same' padding. networks.fcn builds from these.
FCN_CONV_BLOCKS: tuple[tuple[int, int], ...] = ((128, 8), (256, 5), (128, 3))
FCN_SAVED_PER_BLOCK = 3  # tensors a block keeps for the backward pass: conv, batch norm, ReLU


def _conv_body_params(blocks: tuple[tuple[int, int], ...]) -> int:
    """Sum over blocks of width x c_in x filters + filters (Conv1D) + 4 x filters (batch norm)."""
    total, channels_in = 0, 1
    for filters, width in blocks:
        total += width * channels_in * filters + filters + 4 * filters
        channels_in = filters
    return total


FCN_SPEC = NetworkSpec(
    name="fcn",
    title="FCN",
    # 8 + 5 + 3 - 2 = 14
    receptive_field=sum(width for _, width in FCN_CONV_BLOCKS) - (len(FCN_CONV_BLOCKS) - 1),
    saved_channels=tuple((filters,) * FCN_SAVED_PER_BLOCK for filters, _ in FCN_CONV_BLOCKS),
    body_params=_conv_body_params(FCN_CONV_BLOCKS),
    features=FCN_CONV_BLOCKS[-1][0],
    builder="transfer_tsc.networks.fcn:build_fcn",
)

NETWORKS: dict[str, NetworkSpec] = {"fcn": FCN_SPEC}


def network(name: str) -> NetworkSpec:
    """The registered network ``name``, or InputError naming the known ones."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise InputError(
            f"unknown network {name!r}; known networks: {', '.join(sorted(NETWORKS))}"
        ) from None


def softmax_head(n_classes: int, seed: int | None) -> keras.layers.Dense:
    """A new softmax layer named ``HEAD`` with Glorot-uniform weights (section III-B), computed
    in float32 also under a mixed-precision policy (the probabilities and the loss keep their
    precision)."""
    import keras

    return keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        dtype="float32",
        name=HEAD,
    )


def with_new_head(source: keras.Model, n_classes: int, seed: int | None = None) -> keras.Model:
    """The source network with its head replaced by a new one for ``n_classes`` classes
    (section III-B).

    Every other layer (and its weights) is the source's; the whole network stays trainable.
    """
    import keras

    features = source.get_layer(FEATURES).output
    # inputs[0], not the list: the model takes one array, as the builders' do (a list input
    # makes Keras warn on every call with an array)
    return keras.Model(source.inputs[0], softmax_head(n_classes, seed)(features), name=source.name)
