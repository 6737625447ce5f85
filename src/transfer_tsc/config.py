"""The study's configuration: validated against ``config.schema.yaml`` with defaults filled in.

Errors name the key (``finetune.epochs``) and the problem, one line.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import jsonschema
import yaml

from .errors import InputError
from .training import Recipe

DEMO = "demo"
DEMO_ROOT = "resources/demo_ucr"


def schema() -> dict:
    return yaml.safe_load(resources.files(__package__).joinpath("config.schema.yaml").read_text())


def _fill_defaults(instance: dict, node: dict) -> None:
    for key, sub in node.get("properties", {}).items():
        if "default" in sub and key not in instance:
            instance[key] = copy.deepcopy(sub["default"])
        if sub.get("type") == "object" and isinstance(instance.get(key), dict):
            _fill_defaults(instance[key], sub)


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Return ``config`` with defaults filled in, or raise InputError naming the bad key."""
    spec = schema()
    filled = copy.deepcopy(dict(config))
    _fill_defaults(filled, spec)
    validator = jsonschema.Draft7Validator(spec)
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        key = ".".join(str(p) for p in error.path) or "(top level)"
        if error.validator == "additionalProperties":
            unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            prefix = f"{key}." if error.path else ""
            raise InputError(
                f"config key {', '.join(prefix + u for u in unknown)}: unknown key "
                f"(known: {', '.join(error.schema.get('properties', {}))})"
            )
        raise InputError(f"config key {key}: {error.message}")
    filled["analysis"]["names"] = int(filled["analysis"]["names"])
    return filled


def ucr_root(config: dict[str, Any]) -> str:
    """The archive folder: the generated demo archive when ``ucr_root`` is "demo"."""
    return DEMO_ROOT if config["ucr_root"] == DEMO else config["ucr_root"]


def recipe(config: dict[str, Any], stage: str) -> Recipe:
    """The training recipe of ``stage`` ("pretrain" or "finetune")."""
    training = config["training"]
    return Recipe(
        epochs=config[stage]["epochs"],
        batch_size=training["batch_size"],
        batch_size_cap_tenth=training["batch_size_cap_tenth"],
        learning_rate=training["learning_rate"],
        lr_factor=training["lr_factor"],
        lr_patience=training["lr_patience"],
        min_lr=training["min_lr"],
        seed=config["seed"],
        progress_every=training["progress_every"],
        checkpoint_every=training["checkpoint_every"],
    )


def group_size(config: dict[str, Any]) -> int | str:
    """``finetune.group_size``: "auto" (the GPU plan) or a number of sources (a number given as
    text, as ``--config finetune='{group_size: 4}'`` gives it, is read as the number)."""
    value = config["finetune"]["group_size"]
    return value if value == "auto" else int(value)
