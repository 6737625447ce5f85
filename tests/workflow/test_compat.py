"""Every Snakemake internal the workflow uses (transfer_tsc.workflow.compat.PRIVATE_NAMES) is
still there, with the parameters compat calls it with, on the installed Snakemake: an upgrade
that renames or removes one fails here, naming it and the version, not in the middle of a run."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from types import SimpleNamespace

import pytest
import snakemake
import snakemake.api  # noqa: F401  (imports snakemake.workflow without its import cycle)

from transfer_tsc.workflow import compat


def _class(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _has(cls, attribute: str) -> bool:
    """An attribute of the class, a slot, or a field of a dataclass (fields without a default
    are not class attributes)."""
    if inspect.getattr_static(cls, attribute, None) is not None or hasattr(cls, attribute):
        return True
    if dataclasses.is_dataclass(cls) and attribute in {f.name for f in dataclasses.fields(cls)}:
        return True
    return attribute in getattr(cls, "__annotations__", {})


@pytest.mark.parametrize(
    "owner, attribute, parameters",
    compat.PRIVATE_NAMES,
    ids=[f"{owner.rsplit('.', 1)[1]}.{name}" for owner, name, _ in compat.PRIVATE_NAMES],
)
def test_each_snakemake_internal_is_there(owner, attribute, parameters):
    where = (
        f"Snakemake {snakemake.__version__} (compat.py was written for "
        f"{compat.SNAKEMAKE_VERSION_WRITTEN_FOR})"
    )
    try:
        cls = _class(owner)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{owner} is gone in {where}: {error}; update transfer_tsc.workflow.compat")
    assert _has(cls, attribute), (
        f"{owner}.{attribute} is gone in {where}; update transfer_tsc.workflow.compat"
    )
    if parameters is None:
        return
    signature = inspect.signature(getattr(cls, attribute))
    names = list(signature.parameters)
    assert tuple(names[: len(parameters)]) == parameters, (
        f"{owner}.{attribute} takes {signature} in {where}, compat calls it as {parameters}; "
        "update transfer_tsc.workflow.compat"
    )
    required = [
        name
        for name, parameter in list(signature.parameters.items())[len(parameters) :]
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    assert not required, (
        f"{owner}.{attribute} needs {required} too in {where}; update transfer_tsc.workflow.compat"
    )


def test_compat_calls_only_checked_names():
    """Each ``._name`` compat.py reaches into is among PRIVATE_NAMES (so the test above covers
    every one)."""
    import re

    source = inspect.getsource(compat)
    used = set(re.findall(r"persistence\.(_\w+)\(", source))
    checked = {name for _, name, _ in compat.PRIVATE_NAMES}
    assert used and used <= checked, used - checked


def test_the_incomplete_markers_round_trip(tmp_path, monkeypatch):
    """compat's FilePersistence functions on a real .snakemake folder: a marked output is found
    incomplete, and unmarked it is not."""
    from snakemake.settings.types import PersistenceBackend

    monkeypatch.chdir(tmp_path)
    workflow = SimpleNamespace(
        workflow_settings=SimpleNamespace(persistence_backend=PersistenceBackend.FILE),
        deployment_settings=SimpleNamespace(conda_prefix=None, apptainer_prefix=None),
    )
    persistence = compat.file_persistence(workflow)
    paths = {"results/a.csv", "results/b/c.h5"}
    for path in paths:
        compat.mark_incomplete(persistence, path)
    again = compat.file_persistence(workflow)  # a new process reads the markers from disk
    assert compat.incomplete_among(again, paths | {"results/other.csv"}) == paths
    compat.unmark_incomplete(again, "results/a.csv")
    assert compat.incomplete_among(compat.file_persistence(workflow), paths) == {"results/b/c.h5"}
    workflow.workflow_settings.persistence_backend = PersistenceBackend.DB
    assert compat.file_persistence(workflow) is None


def test_the_workflow_accessors():
    """The accessors of the Snakefile's ``workflow``, on a stand-in with the same attributes."""
    raw = SimpleNamespace(raw="gpu:1")
    workflow = SimpleNamespace(
        remote_exec=False,
        subprocess_exec=False,
        resource_settings=SimpleNamespace(
            overwrite_resources={"finetune_batch": {"gres": raw, "gpu_mem_mb": 40000}}
        ),
        dag_settings=None,
    )
    assert compat.is_main_process(workflow)
    assert compat.set_resources(workflow, "finetune_batch") == {
        "gres": "gpu:1",
        "gpu_mem_mb": 40000,
    }
    assert compat.set_resources(workflow, "pretrain") == {}
    assert compat.dag_targets(workflow) == []  # while the Snakefile is read
    workflow.dag_settings = SimpleNamespace(targets={"results/fcn/finetune/A/B/metrics.csv"})
    assert compat.dag_targets(workflow) == ["results/fcn/finetune/A/B/metrics.csv"]
    workflow.subprocess_exec = True
    assert not compat.is_main_process(workflow)
