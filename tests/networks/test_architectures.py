"""The ResNet and Inception networks as published (``networks.resnet``, ``networks.inception``):
their trainable parameters against the count the layer shapes give, the Inception module's
branches and bottlenecks, the ResNet's shortcuts, any series length, and seeded weights.

The published architectures, written out here (not read from the package's tables):

* ResNet (Wang et al. 2017; Ismail Fawaz et al. 2019): 3 blocks of Conv1D widths 8, 5, 3 with
  bias, 64, 128, 128 filters, batch norm after each; the shortcut a 1x1 Conv1D (with bias) +
  batch norm where the channels change, batch norm alone where not.
* Inception (InceptionTime, Ismail Fawaz et al. 2020): 6 modules; a 1x1 bottleneck of 32 where
  the input has more than one channel; 32 filters each of widths 40, 20, 10 and of a 1x1 after
  a max pooling of 3; batch norm on the 128 concatenated channels; a shortcut (1x1 Conv1D of
  128 + batch norm) after modules 3 and 6; no convolution with bias.
"""

from __future__ import annotations

import numpy as np
import pytest

from transfer_tsc.networks import (
    FCN_SPEC,
    INCEPTION_SPEC,
    NETWORKS,
    RESNET_BLOCKS,
    RESNET_SPEC,
)

RESNET_WIDTHS = (8, 5, 3)
RESNET_FILTERS = (64, 128, 128)
INCEPTION_MODULES, BOTTLENECK, BRANCH, WIDTHS, POOL = 6, 32, 32, (40, 20, 10), 3
RESIDUAL_AFTER = (3, 6)
CONCATENATED = BRANCH * (len(WIDTHS) + 1)  # 128

# Counted once from a Keras sketch of the published tables (the numbers).
PUBLISHED_BODIES = {"fcn": 264_704, "resnet": 504_000, "inception": 420_192}


def conv(width: int, c_in: int, filters: int, bias: bool) -> int:
    return width * c_in * filters + (filters if bias else 0)


def batch_norm(channels: int) -> int:
    return 2 * channels  # gamma and beta (the moving mean and variance are not trained)


def resnet_trainable_body() -> int:
    total, c_in = 0, 1
    for filters in RESNET_FILTERS:
        c = c_in
        for width in RESNET_WIDTHS:
            total += conv(width, c, filters, bias=True) + batch_norm(filters)
            c = filters
        if c_in != filters:
            total += conv(1, c_in, filters, bias=True)
        total += batch_norm(filters)
        c_in = filters
    return total


def inception_trainable_body() -> int:
    total, c_in, stretch_in = 0, 1, 1
    for module in range(1, INCEPTION_MODULES + 1):
        branch_in = c_in
        if c_in > 1:
            total += conv(1, c_in, BOTTLENECK, bias=False)
            branch_in = BOTTLENECK
        total += sum(conv(w, branch_in, BRANCH, bias=False) for w in WIDTHS)
        total += conv(1, c_in, BRANCH, bias=False) + batch_norm(CONCATENATED)
        if module in RESIDUAL_AFTER:
            total += conv(1, stretch_in, CONCATENATED, bias=False) + batch_norm(CONCATENATED)
            stretch_in = CONCATENATED
        c_in = CONCATENATED
    return total


def fcn_trainable_body() -> int:
    total, c_in = 0, 1
    for filters, width in ((128, 8), (256, 5), (128, 3)):
        total += conv(width, c_in, filters, bias=True) + batch_norm(filters)
        c_in = filters
    return total


TRAINABLE_BODIES = {
    "fcn": fcn_trainable_body,
    "resnet": resnet_trainable_body,
    "inception": inception_trainable_body,
}


def trainable(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def layer_names(model, kind) -> list[str]:
    return [layer.name for layer in model.layers if isinstance(layer, kind)]


def parents(layer) -> list[str]:
    return [node.operation.name for node in layer._inbound_nodes[0].parent_nodes]


@pytest.mark.parametrize("name", list(NETWORKS))
@pytest.mark.parametrize("n_classes", [2, 5])
def test_trainable_parameters_are_the_published_layers(name, n_classes):
    spec = NETWORKS[name]
    model = spec.build(n_classes, seed=0)
    head = 128 * n_classes + n_classes
    assert trainable(model) == TRAINABLE_BODIES[name]() + head
    assert TRAINABLE_BODIES[name]() == PUBLISHED_BODIES[name]  # the cross-check
    assert trainable(model) == PUBLISHED_BODIES[name] + 129 * n_classes
    # count_params adds batch norm's moving mean and variance (as the spec's body_params do)
    assert all("moving" in w.path for w in model.non_trainable_weights)
    assert model.count_params() == spec.params(n_classes)


def test_the_package_tables_are_the_published_ones():
    from transfer_tsc import networks

    assert RESNET_BLOCKS == tuple((f, RESNET_WIDTHS) for f in RESNET_FILTERS)
    assert networks.INCEPTION_MODULES == INCEPTION_MODULES
    assert networks.INCEPTION_BOTTLENECK == BOTTLENECK
    assert networks.INCEPTION_FILTERS == BRANCH
    assert networks.INCEPTION_WIDTHS == WIDTHS
    assert networks.INCEPTION_POOL == POOL
    assert networks.INCEPTION_CHANNELS == CONCATENATED
    shortcuts = [m.shortcut_in is not None for m in networks.inception_modules()]
    assert [i for i, s in enumerate(shortcuts, start=1) if s] == list(RESIDUAL_AFTER)


def test_resnet_blocks_and_shortcuts():
    import keras

    model = RESNET_SPEC.build(3, seed=0)
    for b, filters in enumerate(RESNET_FILTERS, start=1):
        convs = [model.get_layer(f"block{b}_conv{i}") for i in (1, 2, 3)]
        assert [
            (c.filters, c.kernel_size[0], c.strides[0], c.padding, c.use_bias) for c in convs
        ] == [(filters, w, 1, "same", True) for w in RESNET_WIDTHS]
        for i in (1, 2, 3):  # batch norm after every convolution
            assert parents(model.get_layer(f"block{b}_bn{i}")) == [f"block{b}_conv{i}"]
        assert parents(model.get_layer(f"block{b}_relu1")) == [f"block{b}_bn1"]
        assert parents(model.get_layer(f"block{b}_relu2")) == [f"block{b}_bn2"]
        assert f"block{b}_relu3" not in [layer.name for layer in model.layers]
        add = model.get_layer(f"block{b}_add")
        assert parents(add) == [f"block{b}_bn3", f"block{b}_shortcut_bn"]
        assert parents(model.get_layer(f"block{b}_out")) == [f"block{b}_add"]
        assert model.get_layer(f"block{b}_out").output.shape[-1] == filters
    block_input = {1: "series", 2: "block1_out", 3: "block2_out"}
    # blocks 1 and 2 change the channels (1 -> 64, 64 -> 128): a 1x1 convolution + batch norm
    for b in (1, 2):
        shortcut = model.get_layer(f"block{b}_shortcut_conv")
        assert (shortcut.kernel_size[0], shortcut.filters, shortcut.use_bias) == (
            1,
            RESNET_FILTERS[b - 1],
            True,
        )
        assert parents(shortcut) == [block_input[b]]
        assert parents(model.get_layer(f"block{b}_shortcut_bn")) == [f"block{b}_shortcut_conv"]
    # block 3 keeps 128 channels: batch norm alone
    assert "block3_shortcut_conv" not in [layer.name for layer in model.layers]
    assert parents(model.get_layer("block3_shortcut_bn")) == [block_input[3]]
    assert len(layer_names(model, keras.layers.Conv1D)) == 3 * 3 + 2
    assert len(layer_names(model, keras.layers.BatchNormalization)) == 3 * 3 + 3
    assert parents(model.get_layer("gap")) == ["block3_out"]


def test_inception_modules_branches_and_bottlenecks():
    import keras

    model = INCEPTION_SPEC.build(3, seed=0)
    names = {layer.name for layer in model.layers}
    module_input = "series"
    stretch_input = "series"
    for m in range(1, INCEPTION_MODULES + 1):
        # the first module's input is the univariate series: no bottleneck; the others have one
        assert (f"module{m}_bottleneck" in names) == (m > 1)
        branch_input = module_input
        if m > 1:
            bottleneck = model.get_layer(f"module{m}_bottleneck")
            assert (bottleneck.kernel_size[0], bottleneck.filters) == (1, BOTTLENECK)
            assert not bottleneck.use_bias
            assert parents(bottleneck) == [module_input]
            assert bottleneck.output.shape[-1] == BOTTLENECK
            branch_input = bottleneck.name
        branches = []
        for width in WIDTHS:
            c = model.get_layer(f"module{m}_conv{width}")
            assert (c.kernel_size[0], c.filters, c.strides[0], c.padding) == (width, 32, 1, "same")
            assert not c.use_bias and parents(c) == [branch_input]
            branches.append(c)
        pool = model.get_layer(f"module{m}_pool")
        assert isinstance(pool, keras.layers.MaxPooling1D)
        assert (pool.pool_size[0], pool.strides[0], pool.padding) == (POOL, 1, "same")
        assert parents(pool) == [module_input]
        pool_conv = model.get_layer(f"module{m}_pool_conv")
        assert (pool_conv.kernel_size[0], pool_conv.filters, pool_conv.use_bias) == (1, 32, False)
        assert parents(pool_conv) == [pool.name]
        branches.append(pool_conv)
        assert [b.output.shape[-1] for b in branches] == [BRANCH] * 4
        concat = model.get_layer(f"module{m}_concat")
        assert parents(concat) == [b.name for b in branches]
        assert concat.output.shape[-1] == CONCATENATED == 128
        assert parents(model.get_layer(f"module{m}_bn")) == [concat.name]
        assert parents(model.get_layer(f"module{m}_relu")) == [f"module{m}_bn"]
        module_input = f"module{m}_relu"
        assert (f"module{m}_shortcut_conv" in names) == (m in RESIDUAL_AFTER)
        if m in RESIDUAL_AFTER:
            shortcut = model.get_layer(f"module{m}_shortcut_conv")
            assert (shortcut.kernel_size[0], shortcut.filters) == (1, CONCATENATED)
            assert not shortcut.use_bias and parents(shortcut) == [stretch_input]
            shortcut_bn = model.get_layer(f"module{m}_shortcut_bn")
            assert parents(shortcut_bn) == [shortcut.name]
            add = model.get_layer(f"module{m}_add")
            assert parents(add) == [f"module{m}_relu", shortcut_bn.name]
            assert parents(model.get_layer(f"module{m}_out")) == [add.name]
            module_input = stretch_input = f"module{m}_out"
    assert stretch_input == "module6_out"
    assert parents(model.get_layer("gap")) == ["module6_out"]
    convs = [model.get_layer(n) for n in layer_names(model, keras.layers.Conv1D)]
    assert len(convs) == 4 + 5 * 5 + 2 and not any(c.use_bias for c in convs)


@pytest.mark.parametrize("name", ["resnet", "inception"])
def test_one_network_predicts_on_two_lengths(name):
    """The input is (None, 1); 'same' padding also takes series shorter than the receptive
    field (Inception's 235, ResNet's 40): the length check of training is a choice, not a
    limit of these networks."""
    spec = NETWORKS[name]
    model = spec.build(3, seed=0)
    assert model.input_shape == (None, None, 1)
    rng = np.random.default_rng(0)
    outputs = []
    for length in (24, spec.receptive_field + 13):
        x = rng.normal(size=(2, length, 1)).astype("float32")
        out = np.asarray(model(x, training=False))
        assert out.shape == (2, 3) and np.isfinite(out).all()
        np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)
        outputs.append(out)
    assert not np.allclose(outputs[0], outputs[1])


@pytest.mark.parametrize("name", ["resnet", "inception"])
def test_the_seed_fixes_every_kernel_and_each_has_its_own(name):
    import keras

    spec = NETWORKS[name]
    a, b, c = spec.build(2, seed=4), spec.build(2, seed=4), spec.build(2, seed=5)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    kernels = [a.get_layer(n).kernel for n in layer_names(a, keras.layers.Conv1D)]
    other = [c.get_layer(n).kernel for n in layer_names(c, keras.layers.Conv1D)]
    assert not any(np.array_equal(np.asarray(k), np.asarray(o)) for k, o in zip(kernels, other))
    # kernels of the same shape differ: each convolution its own derived seed
    by_shape: dict[tuple, list[np.ndarray]] = {}
    for k in kernels:
        by_shape.setdefault(tuple(k.shape), []).append(np.asarray(k))
    assert any(len(same) > 1 for same in by_shape.values())
    for same in by_shape.values():
        for i in range(len(same)):
            for j in range(i + 1, len(same)):
                assert not np.array_equal(same[i], same[j])
    unseeded = [spec.build(2), spec.build(2)]
    first = layer_names(a, keras.layers.Conv1D)[0]
    assert not np.array_equal(
        unseeded[0].get_layer(first).get_weights()[0], unseeded[1].get_layer(first).get_weights()[0]
    )


def test_the_gpu_plans_activations_are_the_specs_saved_channels():
    """Per time step of a series, in channels: FCN 3 x (128 + 256 + 128) = 1536; ResNet
    12 x 64 + 12 x 128 + 11 x 128 = 3712; Inception 385 + 5 x 544 + 2 x 512 = 4129."""
    totals = {n: sum(sum(block) for block in s.saved_channels) for n, s in NETWORKS.items()}
    assert totals == {"fcn": 1536, "resnet": 3712, "inception": 4129}
    assert FCN_SPEC is NETWORKS["fcn"]
