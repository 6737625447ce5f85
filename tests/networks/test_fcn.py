"""The FCN's layers and parameter count (paper section III-A) and the transfer of its weights
to a new head (section III-B)."""

from __future__ import annotations

import numpy as np
import pytest

from transfer_tsc.data import load_dataset
from transfer_tsc.networks import with_new_head
from transfer_tsc.networks.fcn import RECEPTIVE_FIELD, build_fcn
from transfer_tsc.settings import default_recipe
from transfer_tsc.training.transfer import finetune, load_model, pretrain, save_model


def expected_parameters(n_classes: int) -> int:
    """Conv1D k*c_in*c_out + c_out, BatchNorm 4 per channel, Dense 128*C + C."""
    total, channels = 0, 1
    for filters, width in [(128, 8), (256, 5), (128, 3)]:
        total += width * channels * filters + filters + 4 * filters
        channels = filters
    return total + channels * n_classes + n_classes


@pytest.mark.parametrize("n_classes", [2, 5, 37])
def test_parameter_count_matches_the_architecture(n_classes):
    model = build_fcn(n_classes, seed=0)
    assert model.count_params() == expected_parameters(n_classes)
    if n_classes == 2:
        assert model.count_params() == 265_986  # the paper's "~265k"


def test_layers_and_shapes():
    model = build_fcn(3, seed=0)
    convs = [layer for layer in model.layers if layer.name.startswith("conv")]
    assert [(c.filters, c.kernel_size[0], c.strides[0], c.padding) for c in convs] == [
        (128, 8, 1, "same"),
        (256, 5, 1, "same"),
        (128, 3, 1, "same"),
    ]
    assert [layer.name for layer in model.layers][1:] == [
        "conv1",
        "bn1",
        "relu1",
        "conv2",
        "bn2",
        "relu2",
        "conv3",
        "bn3",
        "relu3",
        "gap",
        "softmax",
    ]
    assert model.input_shape == (None, None, 1)
    for length in (RECEPTIVE_FIELD, 150, 1000):  # one network, any length
        out = np.asarray(
            model(np.random.default_rng(0).normal(size=(4, length, 1)).astype("float32"))
        )
        assert out.shape == (4, 3)
        np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)


def test_new_head_keeps_the_features_and_replaces_the_softmax(tmp_path):
    source = build_fcn(5, seed=1)
    path = tmp_path / "source.h5"
    save_model(source, path)
    loaded = load_model(path)
    for a, b in zip(source.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    target = with_new_head(loaded, 2, seed=7)
    assert target.output_shape == (None, 2)
    for name in ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3"]:
        for a, b in zip(source.get_layer(name).get_weights(), target.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    kernel, bias = target.get_layer("softmax").get_weights()
    assert kernel.shape == (128, 2)
    np.testing.assert_array_equal(bias, 0)
    limit = np.sqrt(6 / (128 + 2))  # Glorot uniform
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > limit / 2


def test_finetuning_starts_from_the_source_weights(ucr_root, tmp_path):
    """Fine-tuning for 1 epoch moves the copied weights only slightly; a fresh network is far."""
    source_data = load_dataset(ucr_root, "Coffee")
    target = load_dataset(ucr_root, "GunPoint")
    recipe = default_recipe(epochs=2, seed=0, progress_every=1)
    source, outcome = pretrain(source_data, recipe)
    assert outcome.train.history.shape == (2, 4)
    save_model(source, tmp_path / "coffee.h5")
    ((model, result),) = finetune(
        {"Coffee": tmp_path / "coffee.h5"}, target, default_recipe(epochs=1)
    ).values()
    assert model.output_shape == (None, 2)
    conv_source = source.get_layer("conv2").get_weights()[0]
    conv_tuned = model.get_layer("conv2").get_weights()[0]
    fresh = build_fcn(2, seed=123).get_layer("conv2").get_weights()[0]
    moved = np.abs(conv_tuned - conv_source).mean()
    assert moved > 0
    assert moved < 0.2 * np.abs(fresh - conv_source).mean()
    assert 0 <= result.test_accuracy <= 1
