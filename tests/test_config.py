"""Configuration values typed on the command line: Snakemake reads nested ``--config`` values
with YAML's base loader, so every nested scalar arrives as text; the schema's types apply."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import run_snakemake

from transfer_tsc import settings
from transfer_tsc.errors import InputError


def test_nested_text_values_take_the_schema_types():
    config = settings.validate(
        {
            "pretrain": {"epochs": "3"},
            "training": {"learning_rate": "0.01", "min_lr": "1e-5", "batch_size_cap_tenth": "true"},
            "dtw": {"window": "null", "dba_iterations": "5"},
            "data": {"znormalise": "false", "fill_missing": "True"},
            "analysis": {"names": "2015", "heatmap_limit": "20"},
            "finetune": {"sources": "logme:3", "group_size": "auto"},
            "datasets": ["50words", "Coffee"],
        }
    )
    assert config["pretrain"]["epochs"] == 3 and isinstance(config["pretrain"]["epochs"], int)
    assert config["training"]["learning_rate"] == 0.01 and config["training"]["min_lr"] == 1e-5
    assert config["training"]["batch_size_cap_tenth"] is True
    assert config["dtw"] == {"window": None, "dba_iterations": 5}
    assert config["data"] == {"znormalise": False, "fill_missing": True}
    assert config["analysis"]["names"] == 2015 and config["analysis"]["heatmap_limit"] == 20
    assert config["finetune"]["sources"] == "logme:3" and config["finetune"]["group_size"] == "auto"
    assert config["datasets"] == ["50words", "Coffee"]  # strings stay strings


@pytest.mark.parametrize(
    "config, message",
    [
        (
            {"pretrain": {"epochs": "three"}},
            "config key pretrain.epochs: 'three' is not of type 'integer'",
        ),
        (
            {"pretrain": {"epochs": "3.5"}},
            "config key pretrain.epochs: '3.5' is not of type 'integer'",
        ),
        (
            {"training": {"batch_size_cap_tenth": "yes"}},
            "config key training.batch_size_cap_tenth: 'yes' is not of type 'boolean'",
        ),
        ({"dtw": {"window": "wide"}}, "config key dtw.window: 'wide' is not valid"),
    ],
)
def test_text_that_is_not_the_type_is_refused_by_name(config, message):
    with pytest.raises(InputError) as error:
        settings.validate(config)
    assert str(error.value).startswith(message)


# What TensorFlow, absl and Keras print on their own at start-up or on every save or call.
THIRD_PARTY_NOISE = (
    "absl",
    "I0000",
    "E0000",
    "cuInit",
    "oneDNN",
    "cuda",
    "legacy",
    "structure of `inputs`",
    "UserWarning",
)


@pytest.mark.workflow
def test_nested_config_on_the_command_line_is_used_as_typed(tmp_path):
    """Also: the run's console and the training job's log carry the pipeline's own lines only."""
    target = "results/fcn/finetune/CBF/TwoPatterns/metrics.csv"
    result = run_snakemake(
        tmp_path,
        {"ucr_root": "demo"},
        target,
        "--config",
        'pretrain={"epochs": 2}',
        'finetune={"epochs": 1}',
        'training={"progress_every": 1, "checkpoint_every": 1}',
    )
    assert pd.read_csv(tmp_path / "results/fcn/pretrain/CBF/metrics.csv").loc[0, "epochs"] == 2
    assert pd.read_csv(tmp_path / target).loc[0, "epochs"] == 1
    logs = [
        (tmp_path / "logs/fcn/pretrain/CBF.log").read_text(),
        (tmp_path / "logs/fcn/finetune/TwoPatterns/CBF.log").read_text(),
    ]
    assert "[pretrain CBF] epoch 2/2" in logs[0]
    for text in [result.stdout, result.stderr, *logs]:
        noisy = [line for line in text.splitlines() if any(n in line for n in THIRD_PARTY_NOISE)]
        assert noisy == []


def test_each_network_gets_its_own_recipe():
    """network_settings overlays the shared training settings for one network; the schema's
    network names are the registry's; dl4tsc.yaml is the published recipes."""
    from pathlib import Path

    import yaml

    from transfer_tsc.networks import NETWORKS

    spec = settings.schema()["properties"]
    assert spec["networks"]["items"]["enum"] == list(NETWORKS)
    assert spec["network_settings"]["propertyNames"]["enum"] == list(NETWORKS)

    config = settings.validate(
        {
            "networks": "fcn,resnet",  # --config networks=fcn,resnet
            "training": {"batch_size": 32},
            "network_settings": {"resnet": {"pretrain": {"epochs": "7"}}},  # text, typed
        }
    )
    assert config["networks"] == ["fcn", "resnet"]
    resnet, fcn = settings.recipe(config, "pretrain", "resnet"), settings.recipe(config, "pretrain")
    assert (resnet.epochs, resnet.batch_size) == (7, 32)  # its own epochs, the shared batch
    assert (fcn.epochs, fcn.batch_size) == (2000, 32)
    assert settings.recipe(config, "finetune", "resnet").epochs == 2000

    repo = Path(__file__).parents[1]
    overlay = settings.validate(
        {
            **yaml.safe_load((repo / "config.yaml").read_text()),
            **yaml.safe_load((repo / "dl4tsc.yaml").read_text()),
        }
    )
    published = {
        name: settings.recipe(overlay, "pretrain", name) for name in ("fcn", "resnet", "inception")
    }
    assert {name: r.epochs for name, r in published.items()} == {
        "fcn": 2000,
        "resnet": 1500,
        "inception": 1500,
    }
    assert (
        published["resnet"].batch_size_for(300) == 16
        and published["resnet"].batch_size_for(50) == 5
    )
    assert published["inception"].batch_size_for(50) == 64


@pytest.mark.parametrize(
    "config, message",
    [
        ({"networks": ["fcn", "lstm"]}, "config key networks (item 2): 'lstm' is not one of"),
        ({"networks": []}, "config key networks: [] should be non-empty"),
        ({"network_settings": {"lstm": {}}}, "config key network_settings: 'lstm' is not one of"),
        (
            {"network_settings": {"resnet": {"pretrain": {"epoch": 3}}}},
            "config key network_settings.resnet.pretrain.epoch: unknown key (known: epochs)",
        ),
    ],
)
def test_a_bad_network_setting_is_refused_by_name(config, message):
    with pytest.raises(InputError) as refused:
        settings.validate(config)
    assert message in str(refused.value)
