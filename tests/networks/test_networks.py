"""Every registered network (FCN, ResNet, Inception) keeps the contract
(``transfer_tsc.networks``): a global-average-pooling feature layer, a softmax head of one unit
per class, the spec's parameter count, receptive field (the longest path through the graph) and
saved channels, a head that ``with_new_head`` swaps; and the registry imports without Keras."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from transfer_tsc.errors import InputError
from transfer_tsc.networks import (
    FCN_CONV_BLOCKS,
    FCN_SPEC,
    FEATURES,
    HEAD,
    NETWORKS,
    network,
    with_new_head,
)
from transfer_tsc.training import gpu_plan

SPECS = pytest.mark.parametrize("spec", list(NETWORKS.values()), ids=list(NETWORKS))
LENGTH = 64


def _series(n: int, length: int = LENGTH) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, length, 1)).astype("float32")


@SPECS
def test_the_network_keeps_the_contract(spec):
    import keras

    model = spec.build(3, seed=0)
    assert model.name == spec.name
    assert model.input_shape == (None, None, 1)
    features = model.get_layer(FEATURES)
    assert isinstance(features, keras.layers.GlobalAveragePooling1D)
    assert features.output.shape[-1] == spec.features
    head = model.get_layer(HEAD)
    assert isinstance(head, keras.layers.Dense) and head.units == 3
    assert head.activation is keras.activations.softmax
    assert model.layers[-1] is head
    out = np.asarray(model(_series(4), training=False))
    assert out.shape == (4, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)


@SPECS
@pytest.mark.parametrize("n_classes", [2, 5])
def test_the_parameter_count_is_the_specs_formula(spec, n_classes):
    assert spec.build(n_classes, seed=0).count_params() == spec.params(n_classes)


def _parents(layer) -> list:
    """The layers whose outputs ``layer`` takes (its first call's)."""
    return [node.operation for node in layer._inbound_nodes[0].parent_nodes]


def _consumers(layer) -> list:
    """The layers that take ``layer``'s output."""
    return [node.operation for node in layer._outbound_nodes]


def _receptive_fields(model) -> dict[str, int]:
    """Per layer, the time steps one output of it sees: stride-1 layers on a graph, so 1 + the
    largest sum of (width - 1) x dilation (a pooling: pool - 1) over the paths from the input."""
    import keras

    fields = {}
    for layer in model.layers:  # in graph order: a layer's parents come first
        if isinstance(layer, keras.layers.InputLayer):
            fields[layer.name] = 1
            continue
        grows = 0
        if isinstance(layer, keras.layers.Conv1D):
            assert layer.strides == (1,)
            grows = (layer.kernel_size[0] - 1) * layer.dilation_rate[0]
        elif isinstance(layer, keras.layers.MaxPooling1D):
            assert layer.strides == (1,)
            grows = layer.pool_size[0] - 1
        fields[layer.name] = max(fields[p.name] for p in _parents(layer)) + grows
    return fields


def _saved_channels(model) -> list[int]:
    """The channels of each tensor the model keeps for the backward pass, as the spec counts
    them (``NetworkSpec``): every convolution's, batch norm's, ReLU's, pooling's, addition's and
    concatenation's output, except those only concatenated."""
    import keras

    kept = (
        keras.layers.Conv1D,
        keras.layers.BatchNormalization,
        keras.layers.Activation,
        keras.layers.MaxPooling1D,
        keras.layers.Add,
        keras.layers.Concatenate,
    )
    return [
        layer.output.shape[-1]
        for layer in model.layers
        if isinstance(layer, kept)
        and not all(isinstance(c, keras.layers.Concatenate) for c in _consumers(layer))
    ]


@SPECS
def test_the_receptive_field_and_saved_channels_are_the_built_networks(spec):
    model = spec.build(3, seed=0)
    (last,) = _parents(model.get_layer(FEATURES))
    assert spec.receptive_field == _receptive_fields(model)[last.name]
    saved = _saved_channels(model)
    assert sorted(saved) == sorted(c for block in spec.saved_channels for c in block)
    if spec is FCN_SPEC:  # a chain: in the layers' order
        assert saved == [c for block in spec.saved_channels for c in block]


def test_the_receptive_fields_are_the_longest_paths():
    """FCN 8 + 5 + 3 - 2; ResNet 1 + 3 x (7 + 4 + 2), its 1x1 shortcuts shorter; Inception
    1 + 6 x 39 through each module's 40-wide convolution (235, longer than GunPoint's 150: the
    'same' padding lets such series train all the same, tests/networks/test_architectures.py)."""
    assert [spec.receptive_field for spec in NETWORKS.values()] == [14, 40, 235]


@SPECS
def test_a_new_head_keeps_the_bodys_weights(spec):
    source = spec.build(5, seed=1)
    target = with_new_head(source, 2, seed=7)
    assert target.output_shape == (None, 2)
    assert target.name == source.name
    assert target.get_layer(HEAD) is not source.get_layer(HEAD)
    assert target.get_layer(HEAD).units == 2
    body = [layer.name for layer in source.layers if layer.name != HEAD]
    assert body == [layer.name for layer in target.layers if layer.name != HEAD]
    for name in body:
        for a, b in zip(source.get_layer(name).get_weights(), target.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert target.count_params() == spec.params(2)


def test_source_outputs_are_the_head_and_the_features_in_batches():
    import keras

    from transfer_tsc.training.loop import predict_batch_size
    from transfer_tsc.training.transfer import source_outputs

    model = FCN_SPEC.build(3, seed=0)
    x = _series(predict_batch_size(LENGTH) + 7)  # two batches
    probabilities, features = source_outputs(model, x)
    assert probabilities.dtype == features.dtype == np.float64
    trunk = keras.Model(model.inputs[0], model.get_layer(FEATURES).output)
    np.testing.assert_allclose(probabilities, model(x, training=False), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features, trunk(x, training=False), rtol=1e-5, atol=1e-6)
    assert features.shape == (len(x), FCN_SPEC.features)


def test_the_fcns_numbers():
    from transfer_tsc.networks import fcn

    assert network("fcn") is FCN_SPEC
    assert fcn.CONV_BLOCKS == FCN_CONV_BLOCKS == ((128, 8), (256, 5), (128, 3))
    assert fcn.RECEPTIVE_FIELD == FCN_SPEC.receptive_field == 8 + 5 + 3 - 2
    assert FCN_SPEC.params(2) == 265_986  # the paper's "~265k"
    assert FCN_SPEC.features == 128
    assert FCN_SPEC.saved_channels == ((128,) * 3, (256,) * 3, (128,) * 3)


def test_the_gpu_plan_reads_the_spec():
    assert not hasattr(gpu_plan, "CONV_BLOCKS")  # no copy of the network's blocks
    for n_classes in (2, 60):
        assert gpu_plan.parameters(n_classes) == FCN_SPEC.params(n_classes)
    assert gpu_plan.parameters() == FCN_SPEC.params(gpu_plan.HEAD_CLASSES) == 273_468
    channels = sum(sum(block) for block in FCN_SPEC.saved_channels)
    assert channels == 3 * (128 + 256 + 128)
    assert gpu_plan.activations_mb(2709, 16) == pytest.approx(16 * 2709 * channels * 4 / 2**20)
    assert gpu_plan.fixed_mb() == pytest.approx(5 * 273_468 * 4 / 2**20)


def test_the_built_fcn_has_the_gpu_plans_parameters():
    assert FCN_SPEC.build(60, seed=0).count_params() == gpu_plan.parameters(60)


def test_an_unknown_network_is_refused_naming_the_known_ones():
    with pytest.raises(
        InputError, match=r"unknown network 'lstm'; known networks: fcn, inception, resnet$"
    ):
        network("lstm")


def test_the_registry_holds_the_three_networks():
    assert list(NETWORKS) == ["fcn", "resnet", "inception"]
    for name, spec in NETWORKS.items():
        assert network(name) is spec and spec.name == name
        assert spec.features == 128
    assert [spec.title for spec in NETWORKS.values()] == ["FCN", "ResNet", "Inception"]


def test_a_spec_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        FCN_SPEC.receptive_field = 1


def test_the_registry_and_the_gpu_plan_import_without_keras():
    code = (
        "import sys, transfer_tsc.networks, transfer_tsc.training.gpu_plan; "
        "assert 'keras' not in sys.modules, 'keras'; "
        "assert 'transfer_tsc.networks.fcn' not in sys.modules, 'fcn'; "
        "assert 'transfer_tsc.networks.resnet' not in sys.modules, 'resnet'; "
        "assert 'transfer_tsc.networks.inception' not in sys.modules, 'inception'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
