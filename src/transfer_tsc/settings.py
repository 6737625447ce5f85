"""The study's configuration: validated against ``config.schema.yaml`` with defaults filled in.

The schema is the one place of every key's default and allowed values; errors name the key
(``finetune.epochs``) and the problem, one line.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from importlib import resources
from typing import Any

import jsonschema
import yaml

from .errors import InputError
from .recipe import Recipe

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


_FALSE, _TRUE, _NULL = ("false",), ("true",), ("null", "~")


def _allowed(node: dict) -> list:
    """The JSON types and enum values a schema node accepts (``oneOf`` branches merged)."""
    out = []
    for branch in node.get("oneOf", [node]):
        kinds = branch.get("type", [])
        out += kinds if isinstance(kinds, list) else [kinds]
        out += [("enum", v) for v in branch.get("enum", [])]
    return out


def _from_text(text: str, node: dict) -> Any:
    """``text`` as the non-string value the schema node asks for, when it reads as one (YAML's
    words and numbers); otherwise ``text`` unchanged."""
    allowed = _allowed(node)
    enum = [value for kind, value in (a for a in allowed if isinstance(a, tuple))]
    if "string" in allowed or text in enum:
        return text
    word = text.strip().lower()
    candidates = []
    if word in _TRUE + _FALSE:
        candidates.append(word in _TRUE)
    if word in _NULL:
        candidates.append(None)
    if re.fullmatch(r"[+-]?\d+", word):
        candidates.append(int(word))
    try:
        candidates.append(float(word))
    except ValueError:
        pass
    for value in candidates:
        if value is None and "null" in allowed:
            return None
        if isinstance(value, bool) and ("boolean" in allowed or ("enum", value) in allowed):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and (
            "integer" in allowed or "number" in allowed or ("enum", value) in allowed
        ):
            return value
        if isinstance(value, float) and "number" in allowed:
            return value
    return text


def _coerce_text(instance: Any, node: dict) -> Any:
    """Nested values given as text on the command line (Snakemake reads ``--config
    pretrain='{"epochs": 3}'`` with YAML's base loader, so 3 arrives as "3") turned into the
    type the schema asks for; values that do not read as that type are left for the validator
    to refuse by name."""
    if isinstance(instance, dict):
        properties = node.get("properties", {})
        return {k: _coerce_text(v, properties[k]) if k in properties else v
                for k, v in instance.items()}
    if isinstance(instance, str):
        return _from_text(instance, node)
    return instance


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Return ``config`` with defaults filled in, or raise InputError naming the bad key."""
    spec = schema()
    filled = _coerce_text(copy.deepcopy(dict(config)), spec)
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
    """The training recipe of ``stage`` ("pretrain" or "finetune") of a validated config: each
    Recipe field from the key of its name in ``config[stage]`` (epochs), ``config["training"]``
    or the top level (seed); the fields no key sets keep Recipe's own values."""
    sections = (config[stage], config["training"], config)
    values = {}
    for field in dataclasses.fields(Recipe):
        section = next((s for s in sections if field.name in s), None)
        if section is not None:
            values[field.name] = section[field.name]
    return Recipe(**values)


def default_recipe(**changes: Any) -> Recipe:
    """The pre-training recipe of the schema's defaults, with ``changes`` (Recipe fields) on
    top: the recipe of a test or a benchmark that sets a few fields."""
    return dataclasses.replace(recipe(validate({}), "pretrain"), **changes)


def group_size(config: dict[str, Any]) -> int | str:
    """``finetune.group_size``: "auto" (the GPU plan) or a number of sources (a number given as
    text, as ``--config finetune='{group_size: 4}'`` gives it, is read as the number)."""
    value = config["finetune"]["group_size"]
    return value if value == "auto" else int(value)
