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

from transfer_tsc.errors import InputError
from transfer_tsc.training.recipe import CADENCE_FIELDS, Recipe

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
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and ("integer" in allowed or "number" in allowed or ("enum", value) in allowed)
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
        others = node.get("additionalProperties")
        return {
            k: _coerce_text(v, properties[k])
            if k in properties
            else _coerce_text(v, others)
            if isinstance(others, dict)
            else v
            for k, v in instance.items()
        }
    if isinstance(instance, str):
        return _from_text(instance, node)
    return instance


_KINDS = {
    "null": "null",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "a list",
    "object": "a mapping",
}


def _bounds(node: dict) -> str:
    """A number node's bounds in words: " in (0, 1]", " >= 1", ""."""
    low = next(((node[k], k) for k in ("minimum", "exclusiveMinimum") if k in node), None)
    high = next(((node[k], k) for k in ("maximum", "exclusiveMaximum") if k in node), None)
    if low and high:
        return (
            f" in {'(' if low[1].startswith('exclusive') else '['}{low[0]}, "
            f"{high[0]}{')' if high[1].startswith('exclusive') else ']'}"
        )
    if low:
        return f" {'>' if low[1].startswith('exclusive') else '>='} {low[0]}"
    if high:
        return f" {'<' if high[1].startswith('exclusive') else '<='} {high[0]}"
    return ""


def _accepted(node: dict) -> str:
    """What a schema node accepts, in words, from its own keywords: the branches of oneOf /
    anyOf, else its description, enum, or type with its bounds, length, pattern and items."""
    branches = node.get("oneOf") or node.get("anyOf")
    if branches:
        forms = [_accepted(branch) for branch in branches]
        return ("; or " if any(" or " in form for form in forms) else " or ").join(forms)
    if "description" in node:
        return node["description"]
    if "enum" in node:
        return "one of " + ", ".join(str(value) for value in node["enum"])
    kinds = node.get("type", [])
    words = []
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        text = _KINDS.get(kind, kind)
        if kind in ("integer", "number"):
            text += _bounds(node)
        elif kind == "string":
            text = "a non-empty string" if node.get("minLength", 0) >= 1 else text
            text += f" matching {node['pattern']}" if "pattern" in node else ""
        elif kind == "array":
            text = "a non-empty list" if node.get("minItems", 0) >= 1 else text
            text += " of distinct items" if node.get("uniqueItems") else ""
            text += f", each {_accepted(node['items'])}" if "items" in node else ""
        words.append(text)
    return " or ".join(words) or "a value of the schema"


def _fits(instance: Any, node: dict) -> bool:
    """Whether ``instance`` is of a type the schema node names (no type: unknown, False)."""
    kinds = node.get("type")
    if kinds is None:
        return False
    checker = jsonschema.Draft7Validator.TYPE_CHECKER
    return any(
        checker.is_type(instance, kind) for kind in (kinds if isinstance(kinds, list) else [kinds])
    )


def _message(error: jsonschema.ValidationError) -> str:
    """One line for a schema error: the config key, the value given and what is accepted.

    An unknown key lists the section's keys. A value that no oneOf / anyOf branch accepts
    names every branch's form; when exactly one branch is of the value's type and the problem
    lies inside the value (an item of a list), the message is that item's. A pattern names the
    schema node's description when it has one.
    """
    path = list(error.absolute_path)
    key = ".".join(str(part) for part in path if not isinstance(part, int)) or "(top level)"
    items = [part for part in path if isinstance(part, int)]
    name = f"config key {key}" + (f" (item {items[-1] + 1})" if items else "")
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        prefix = f"{key}." if path else ""
        return (
            f"config key {', '.join(prefix + u for u in unknown)}: unknown key "
            f"(known: {', '.join(error.schema.get('properties', {}))})"
        )
    if error.validator in ("oneOf", "anyOf"):
        fitting = [
            i for i, branch in enumerate(error.validator_value) if _fits(error.instance, branch)
        ]
        inside = [
            sub
            for sub in error.context
            if len(fitting) == 1
            and sub.relative_schema_path[0] == fitting[0]
            and len(sub.absolute_path) > len(path)
        ]
        if inside:
            return _message(max(inside, key=lambda sub: len(sub.absolute_path)))
        return f"{name}: {error.instance!r} is not valid: expected {_accepted(error.schema)}"
    if error.validator == "pattern" and "description" in error.schema:
        return f"{name}: {error.instance!r} is not valid: expected {_accepted(error.schema)}"
    return f"{name}: {error.message}"


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Return ``config`` with defaults filled in, or raise InputError naming the bad key."""
    spec = schema()
    filled = _coerce_text(copy.deepcopy(dict(config)), spec)
    if isinstance(filled.get("networks"), str):  # --config networks=resnet or =fcn,resnet
        filled["networks"] = [name.strip() for name in filled["networks"].split(",")]
    _fill_defaults(filled, spec)
    validator = jsonschema.Draft7Validator(spec)
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.path))
    if errors:
        raise InputError(_message(errors[0]))
    filled["analysis"]["names"] = int(filled["analysis"]["names"])
    return filled


def ucr_root(config: dict[str, Any]) -> str:
    """The archive folder: the generated demo archive when ``ucr_root`` is "demo"."""
    return DEMO_ROOT if config["ucr_root"] == DEMO else config["ucr_root"]


def recipe(config: dict[str, Any], stage: str, network: str | None = None) -> Recipe:
    """The training recipe of ``stage`` ("pretrain" or "finetune") of a validated config: each
    Recipe field from the key of its name in ``network_settings.<network>.<stage>`` or
    ``.training`` (the network's own values, when ``network`` is given), ``config[stage]``
    (epochs), ``config["training"]`` or the top level (seed); the fields no key sets keep
    Recipe's own values."""
    own = config.get("network_settings", {}).get(network, {}) if network else {}
    sections = (
        own.get(stage, {}),
        own.get("training", {}),
        config[stage],
        config["training"],
        config,
    )
    values = {}
    for field in dataclasses.fields(Recipe):
        section = next((s for s in sections if field.name in s), None)
        if section is not None:
            values[field.name] = section[field.name]
    return Recipe(**values)


def recipe_params(config: dict[str, Any], stage: str, network: str | None = None) -> dict[str, Any]:
    """The recipe of ``stage`` (of ``network``) as a training rule's params: every field that
    can change a result; the cadence fields (``recipe.CADENCE_FIELDS``) are left out, so that
    changing how often a job logs or checkpoints does not make Snakemake re-run it ("Params
    have changed")."""
    values = dataclasses.asdict(recipe(config, stage, network))
    for name in CADENCE_FIELDS:
        del values[name]
    return values


def job_recipe(params: dict[str, Any], config: dict[str, Any]) -> Recipe:
    """A training job's Recipe: its rule's ``recipe_params`` and the cadence of the run's
    config (``training.progress_every``, ``training.checkpoint_every``)."""
    training = validate(config)["training"]
    return Recipe(**params, **{name: training[name] for name in CADENCE_FIELDS})


def result_config(config: dict[str, Any]) -> dict[str, Any]:
    """A validated config without the keys no result depends on (the training cadence, the
    ``resources`` a job asks for, ``published_analyses``, which only chooses targets): what the
    finished-job records compare."""
    kept = copy.deepcopy(config)
    kept.pop("resources", None)
    kept.pop("published_analyses", None)
    for name in CADENCE_FIELDS:
        kept.get("training", {}).pop(name, None)
    return kept


def default_recipe(**changes: Any) -> Recipe:
    """The pre-training recipe of the schema's defaults, with ``changes`` (Recipe fields) on
    top: the recipe of a test or a benchmark that sets a few fields."""
    return dataclasses.replace(recipe(validate({}), "pretrain"), **changes)


def group_size(config: dict[str, Any]) -> int | str:
    """``finetune.group_size``: "auto" (the GPU plan) or a number of sources (a number given as
    text, as ``--config finetune='{group_size: 4}'`` gives it, is read as the number)."""
    value = config["finetune"]["group_size"]
    return value if value == "auto" else int(value)
