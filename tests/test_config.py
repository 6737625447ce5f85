"""Configuration values typed on the command line: Snakemake reads nested ``--config`` values
with YAML's base loader, so every nested scalar arrives as text; the schema's types apply."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import run_snakemake
from transfer_tsc import config as settings
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
        ({"pretrain": {"epochs": "three"}}, "config key pretrain.epochs: 'three' is not of type 'integer'"),
        ({"pretrain": {"epochs": "3.5"}}, "config key pretrain.epochs: '3.5' is not of type 'integer'"),
        ({"training": {"batch_size_cap_tenth": "yes"}},
         "config key training.batch_size_cap_tenth: 'yes' is not of type 'boolean'"),
        ({"dtw": {"window": "wide"}}, "config key dtw.window: 'wide' is not valid"),
    ],
)
def test_text_that_is_not_the_type_is_refused_by_name(config, message):
    with pytest.raises(InputError) as error:
        settings.validate(config)
    assert str(error.value).startswith(message)


def test_nested_config_on_the_command_line_is_used_as_typed(tmp_path):
    target = "results/pretrain/CBF/metrics.csv"
    run_snakemake(
        tmp_path, {"ucr_root": "demo"}, target,
        "--config", 'pretrain={"epochs": 2}', 'training={"progress_every": 1, "checkpoint_every": 1}',
    )
    metrics = pd.read_csv(tmp_path / target)
    assert metrics.loc[0, "epochs"] == 2
