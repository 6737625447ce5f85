"""Every default lives in ``config.schema.yaml``; what repeats one stays equal to it: config.yaml
(the settings a researcher changes, each at the schema's default), the README's configuration
table (each key and its default), the ``Recipe`` a config gives (its fields are the config
keys, or fixed by the paper where no key exists), and the recipe ``benchmarks/gpu_check.py``
writes out for a machine without a YAML reader."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import yaml

from transfer_tsc import settings
from transfer_tsc.training.recipe import Recipe

REPO = Path(__file__).resolve().parents[1]


def schema_leaves(node: dict, prefix: str = "") -> dict[str, dict]:
    """Dotted key -> schema node of every setting (objects with properties are sections)."""
    out = {}
    for key, sub in node.get("properties", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            out |= schema_leaves(sub, f"{prefix}{key}.")
        else:
            out[prefix + key] = sub
    return out


def schema_defaults() -> dict[str, object]:
    return {key: node["default"] for key, node in schema_leaves(settings.schema()).items()}


def flatten(mapping: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[prefix + key] = value
    return out


def same(a: object, b: object) -> bool:
    """Equal and of the same type (1 is not 1.0, False is not 0)."""
    return a == b and type(a) is type(b)


def test_every_setting_has_a_default_in_the_schema():
    leaves = schema_leaves(settings.schema())
    missing = [key for key, node in leaves.items() if "default" not in node]
    assert missing == []


def test_config_yaml_sets_each_key_to_the_schema_default():
    """config.yaml keeps the settings a researcher changes readable in one file; changing the
    study's settings is the job of an overlay (paper.yaml, demo.yaml, --configfile)."""
    values = flatten(yaml.safe_load((REPO / "config.yaml").read_text()))
    defaults = schema_defaults()
    assert set(values) <= set(defaults), sorted(set(values) - set(defaults))
    differ = {
        key: (value, defaults[key])
        for key, value in values.items()
        if not same(value, defaults[key])
    }
    assert differ == {}


def readme_table() -> dict[str, str]:
    """The README's configuration table: dotted key -> its default as written. A cell of
    several keys (``training.learning_rate``, ``lr_factor``) names the later ones within the
    first one's section; the default cell lists their defaults in the same order."""
    readme = (REPO / "README.md").read_text()
    table = readme.split("### Configuration\n", 1)[1].split(
        "| key | default | meaning | changing it re-runs |", 1
    )[1]
    table = table.split("\n\n", 1)[0]
    rows = {}
    for line in table.strip().splitlines()[1:]:  # the |---| line first
        keys_cell, defaults_cell = [cell.strip() for cell in line.strip("|").split(" | ")[:2]]
        keys = re.findall(r"`([^`]+)`", keys_cell)
        defaults = re.findall(r"`([^`]+)`", defaults_cell)
        assert len(keys) == len(defaults), line
        section = keys[0].rpartition(".")[0]
        for key, default in zip(keys, defaults):
            full = key if "." in key or not section else f"{section}.{key}"
            assert full not in rows, f"{full} appears twice"
            rows[full] = default
    return rows


def test_readme_configuration_table_has_the_schema_keys_and_defaults():
    table, defaults = readme_table(), schema_defaults()
    assert sorted(set(defaults) - set(table)) == [], "keys missing from the README table"
    assert sorted(set(table) - set(defaults)) == [], "README table keys not in the schema"
    differ = {
        key: (text, defaults[key])
        for key, text in table.items()
        if not same(yaml.safe_load(text), defaults[key])
    }
    assert differ == {}


def test_the_recipe_fields_are_the_config_keys_or_fixed_by_the_paper():
    """A Recipe field without a value of its own is read from the config key of its name (the
    stage's epochs, training.*, seed); a field with one has no config key to disagree with."""
    defaults = schema_defaults()
    keys = {
        key.rpartition(".")[2]
        for key in defaults
        if key.startswith(("training.", "pretrain.", "finetune.")) or "." not in key
    }
    required = {f.name for f in dataclasses.fields(Recipe) if f.default is dataclasses.MISSING}
    fixed = {f.name for f in dataclasses.fields(Recipe)} - required
    assert required <= keys and not fixed & keys, (required - keys, fixed & keys)
    config = settings.validate(
        {
            "pretrain": {"epochs": 3},
            "finetune": {"epochs": 5},
            "seed": 7,
            "training": {"lr_patience": 9},
        }
    )
    for stage, epochs in (("pretrain", 3), ("finetune", 5)):
        recipe = settings.recipe(config, stage)
        assert (recipe.epochs, recipe.seed, recipe.lr_patience) == (epochs, 7, 9)
        for name in required - {"epochs", "seed"}:
            assert same(getattr(recipe, name), config["training"][name]), name


def test_gpu_check_writes_out_the_schema_recipe():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks/gpu_check.py")
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    written = Recipe(**gpu_check.PAPER_RECIPE, epochs=1, progress_every=1, checkpoint_every=1)
    assert written == settings.default_recipe(epochs=1, progress_every=1, checkpoint_every=1)
