"""The networks a study can train (section III-A), each a spec in one registry.

The contract every network keeps (fine-tuning, source scoring and the GPU plan rely on it): one
input of shape (None, 1), a global-average-pooling layer named ``FEATURES`` and, on it, a
softmax layer named ``HEAD`` with one unit per class. Fine-tuning (section III-B) replaces the
head (``with_new_head``). A ``NetworkSpec`` holds a network's numbers without Keras; its
builder is imported only when a model is built, so importing this package never imports Keras.
The networks: the FCN of Wang et al. 2017 (``fcn``), the ResNet of Wang et al. 2017 as in
Ismail Fawaz et al. 2019 (``resnet``) and the InceptionTime network of Ismail Fawaz et al. 2020
(``inception``); their numbers come from the tables below (``FCN_CONV_BLOCKS``,
``RESNET_BLOCKS``, the ``INCEPTION_*`` constants), which the builders read too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
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

    ``receptive_field``: the time steps one output of the last layer before the feature layer
    sees, 1 + the sum of (width - 1) along the longest path through the convolutions (and
    poolings). Every network here pads 'same', so it also trains and predicts on shorter series
    (the edges see zeros); the value is the receptive field, not a minimum length.
    ``saved_channels``: per block, the channels of each tensor it keeps for the backward pass
    (the GPU plan's activations): the output of every convolution, batch normalisation, ReLU,
    pooling, addition and concatenation, once per tensor, except the branch outputs a
    concatenation copies (no backward step needs a concatenation's inputs; the concatenated
    tensor is the one kept). ``body_params``: the parameters below the head (weights, biases,
    batch norm's 2 trained + 2 moving per channel). ``features``: the width of the feature
    layer. ``builder``: ``"module:function"``, called as ``function(n_classes, seed)``.
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


# The ResNet of Wang et al. (2017) as in Ismail Fawaz et al. (2019, DMKD): (filters, widths) of
# its three residual blocks. A block: per width Conv1D ('same', stride 1, with bias) ->
# BatchNormalization, a ReLU after each but the last; the last batch norm's output plus the
# shortcut (a 1x1 Conv1D + BatchNormalization where the channels change, BatchNormalization
# alone where they do not), then a ReLU. networks.resnet builds from these.
RESNET_BLOCKS: tuple[tuple[int, tuple[int, ...]], ...] = (
    (64, (8, 5, 3)),
    (128, (8, 5, 3)),
    (128, (8, 5, 3)),
)


@dataclass(frozen=True)
class ResidualBlock:
    """One ResNet block as built: its input channels, filters, widths, and whether the shortcut
    has a 1x1 convolution (the channels change) or is batch normalisation alone."""

    channels_in: int
    filters: int
    widths: tuple[int, ...]
    shortcut_conv: bool


def resnet_blocks() -> tuple[ResidualBlock, ...]:
    """The ResNet's blocks from ``RESNET_BLOCKS``, the first on the univariate series."""
    blocks, channels_in = [], 1
    for filters, widths in RESNET_BLOCKS:
        blocks.append(ResidualBlock(channels_in, filters, widths, channels_in != filters))
        channels_in = filters
    return tuple(blocks)


def _resnet_body_params() -> int:
    """Per block: width x c_in x filters + filters for each convolution and 4 x filters for its
    batch norm; the shortcut's c_in x filters + filters (1x1 convolution, where there is one)
    and 4 x filters (batch norm)."""
    total = 0
    for block in resnet_blocks():
        channels_in = block.channels_in
        for width in block.widths:
            total += width * channels_in * block.filters + block.filters + 4 * block.filters
            channels_in = block.filters
        if block.shortcut_conv:
            total += block.channels_in * block.filters + block.filters
        total += 4 * block.filters
    return total


def _resnet_saved_channels() -> tuple[tuple[int, ...], ...]:
    """Per block: each convolution's and batch norm's output and the ReLUs between (3 x 2 +
    2), the shortcut's convolution and batch norm (or batch norm alone), the sum and its
    ReLU."""
    saved = []
    for block in resnet_blocks():
        main = 3 * len(block.widths) - 1  # conv, BN, ReLU per width; no ReLU after the last
        shortcut = 2 if block.shortcut_conv else 1
        saved.append((block.filters,) * (main + shortcut + 2))
    return tuple(saved)


RESNET_SPEC = NetworkSpec(
    name="resnet",
    title="ResNet",
    # the main path is the longest (the shortcut's convolution is 1 wide): 1 + 3 x (7 + 4 + 2)
    receptive_field=1 + sum(width - 1 for _, widths in RESNET_BLOCKS for width in widths),
    saved_channels=_resnet_saved_channels(),
    body_params=_resnet_body_params(),
    features=RESNET_BLOCKS[-1][0],
    builder="transfer_tsc.networks.resnet:build_resnet",
)


# The InceptionTime network of Ismail Fawaz et al. (2020, DMKD): INCEPTION_MODULES Inception
# modules. A module: a 1x1 bottleneck Conv1D of INCEPTION_BOTTLENECK filters where its input
# has more than 1 channel; on it (or on the input) INCEPTION_FILTERS filters of each width of
# INCEPTION_WIDTHS; beside them MaxPool1D(INCEPTION_POOL, stride 1) on the module's input and
# a 1x1 Conv1D of INCEPTION_FILTERS filters; the four branches concatenated, batch norm, ReLU.
# Every convolution 'same', stride 1, without bias. After every INCEPTION_RESIDUAL_EVERY-th
# module a shortcut from the stretch's input: 1x1 Conv1D (no bias) + BatchNormalization, added
# to the module's output, then a ReLU. networks.inception builds from these.
INCEPTION_MODULES = 6
INCEPTION_BOTTLENECK = 32
INCEPTION_FILTERS = 32
INCEPTION_WIDTHS: tuple[int, ...] = (40, 20, 10)
INCEPTION_POOL = 3
INCEPTION_RESIDUAL_EVERY = 3
INCEPTION_CHANNELS = INCEPTION_FILTERS * (len(INCEPTION_WIDTHS) + 1)  # 128: a module's output


@dataclass(frozen=True)
class InceptionModule:
    """One Inception module as built: its input channels, whether it has a bottleneck, and
    the input channels of the residual shortcut that ends after it (None: no shortcut)."""

    channels_in: int
    bottleneck: bool
    shortcut_in: int | None


def inception_modules() -> tuple[InceptionModule, ...]:
    """The Inception network's modules from the ``INCEPTION_*`` constants, the first on the
    univariate series."""
    modules, channels_in, stretch_in = [], 1, 1
    for index in range(1, INCEPTION_MODULES + 1):
        residual = index % INCEPTION_RESIDUAL_EVERY == 0
        modules.append(
            InceptionModule(channels_in, channels_in > 1, stretch_in if residual else None)
        )
        channels_in = INCEPTION_CHANNELS
        if residual:
            stretch_in = INCEPTION_CHANNELS
    return tuple(modules)


def _inception_body_params() -> int:
    """Per module: the bottleneck's c_in x 32 (where there is one), width x c x 32 per wide
    convolution (c: 32 after a bottleneck, else c_in), the pooling branch's c_in x 32, and
    4 x 128 (batch norm); per shortcut c_in x 128 + 4 x 128. No convolution has a bias."""
    total = 0
    for module in inception_modules():
        branch_in = module.channels_in
        if module.bottleneck:
            total += module.channels_in * INCEPTION_BOTTLENECK
            branch_in = INCEPTION_BOTTLENECK
        total += sum(width * branch_in * INCEPTION_FILTERS for width in INCEPTION_WIDTHS)
        total += module.channels_in * INCEPTION_FILTERS + 4 * INCEPTION_CHANNELS
        if module.shortcut_in is not None:
            total += module.shortcut_in * INCEPTION_CHANNELS + 4 * INCEPTION_CHANNELS
    return total


def _inception_saved_channels() -> tuple[tuple[int, ...], ...]:
    """Per module: the bottleneck's output (where there is one) and the pooling's (c_in), the
    concatenation, its batch norm and ReLU (the wide convolutions' and the pooling branch's
    convolution's outputs are only concatenated, so not kept apart); where a shortcut ends, its
    convolution, batch norm, the sum and its ReLU."""
    saved = []
    for module in inception_modules():
        kept = (INCEPTION_BOTTLENECK,) if module.bottleneck else ()
        kept += (module.channels_in,) + (INCEPTION_CHANNELS,) * 3
        if module.shortcut_in is not None:
            kept += (INCEPTION_CHANNELS,) * 4
        saved.append(kept)
    return tuple(saved)


INCEPTION_SPEC = NetworkSpec(
    name="inception",
    title="Inception",
    # The widest convolution is each module's longest path (the bottleneck and the shortcut's
    # convolutions are 1 wide, the pooling branch 3): 1 + 6 x 39 = 235. Longer than many UCR
    # series (GunPoint's 150): with 'same' padding those train all the same.
    receptive_field=1 + INCEPTION_MODULES * (max(max(INCEPTION_WIDTHS), INCEPTION_POOL) - 1),
    saved_channels=_inception_saved_channels(),
    body_params=_inception_body_params(),
    features=INCEPTION_CHANNELS,
    builder="transfer_tsc.networks.inception:build_inception",
)

PAPER_NETWORK = "fcn"  # the network the paper trains (section III-A); the default everywhere

NETWORKS: dict[str, NetworkSpec] = {
    "fcn": FCN_SPEC,
    "resnet": RESNET_SPEC,
    "inception": INCEPTION_SPEC,
}


def network(name: str) -> NetworkSpec:
    """The registered network ``name``, or InputError naming the known ones."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise InputError(
            f"unknown network {name!r}; known networks: {', '.join(sorted(NETWORKS))}"
        ) from None


def seeded_convolutions(
    seed: int | None, use_bias: bool = True
) -> Callable[[int, int, str], keras.layers.Conv1D]:
    """A maker of a network's Conv1D layers, ``conv(filters, width, name)``: stride 1, 'same'
    padding, Glorot-uniform kernels, the i-th layer made (1-based, in building order) from
    ``seed + i``, so every kernel has a seed of its own (random when ``seed`` is None)."""
    import keras

    count = 0

    def conv(filters: int, width: int, name: str) -> keras.layers.Conv1D:
        nonlocal count
        count += 1
        return keras.layers.Conv1D(
            filters,
            width,
            strides=1,
            padding="same",
            use_bias=use_bias,
            kernel_initializer=keras.initializers.GlorotUniform(
                seed=None if seed is None else seed + count
            ),
            name=name,
        )

    return conv


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
