"""Every use of Snakemake's internals, in one place: thin functions over private or undocumented
attributes of its ``Workflow``, ``DAG`` and ``FilePersistence`` objects.

Written against Snakemake 9.27 (``snakemake.persistence.file.FilePersistence`` and the
``snakemake.settings.types`` dataclasses); none of these names is a public API, so an upgrade may
rename or remove them. ``tests/workflow/test_compat.py`` checks each one on the installed
Snakemake (``PRIVATE_NAMES`` below) and names any that is missing; fix them here, nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SNAKEMAKE_VERSION_WRITTEN_FOR = "9.27"

_PERSISTENCE = "snakemake.persistence.file.FilePersistence"
_SETTINGS = "snakemake.settings.types"
_WORKFLOW = "snakemake.workflow.Workflow"

# Each name used below: (class, attribute, the method's parameters in order, or None for an
# attribute or a dataclass field). tests/workflow/test_compat.py checks them on the installed
# Snakemake.
PRIVATE_NAMES: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    (_PERSISTENCE, "__init__", ("self", "nolock", "dag", "conda_prefix", "singularity_prefix")),
    (_PERSISTENCE, "_mark_incomplete", ("self", "key", "external_jobid")),
    (_PERSISTENCE, "_unmark_incomplete", ("self", "key")),
    (_PERSISTENCE, "_filter_incomplete_keys", ("self", "keys")),
    (f"{_SETTINGS}.PersistenceBackend", "FILE", None),
    (f"{_SETTINGS}.WorkflowSettings", "persistence_backend", None),
    (f"{_SETTINGS}.DeploymentSettings", "conda_prefix", None),
    (f"{_SETTINGS}.DeploymentSettings", "apptainer_prefix", None),
    (f"{_SETTINGS}.ResourceSettings", "overwrite_resources", None),
    (f"{_SETTINGS}.DAGSettings", "targets", None),
    (_WORKFLOW, "remote_exec", None),
    (_WORKFLOW, "subprocess_exec", None),
    (_WORKFLOW, "resource_settings", None),
    (_WORKFLOW, "dag_settings", None),
    (_WORKFLOW, "workflow_settings", None),
    (_WORKFLOW, "deployment_settings", None),
    (_WORKFLOW, "dag", None),
    ("snakemake.dag.DAG", "needrun_jobs", ("self", "exclude_finished")),
    ("snakemake.dag.DAG", "reason", ("self", "job")),
    ("snakemake.jobs.Job", "wildcards_dict", None),
    ("snakemake.jobs.Job", "rule", None),
    ("snakemake.jobs.Reason", "get_names", ("self",)),
)


# -- the Workflow object (the Snakefile's ``workflow``) --------------------------------------


def is_main_process(workflow) -> bool:
    """Whether this is the Snakemake process that plans the run (not a cluster job's or a group
    member's own Snakemake, which re-reads the Snakefile)."""
    return not (workflow.remote_exec or workflow.subprocess_exec)


def set_resources(workflow, rule: str) -> dict[str, Any]:
    """The resources that --set-resources, or a profile's set-resources, give ``rule``, as
    written. Unlike a profile's config or configfile, these survive a --config or --configfile
    of the user's own (a --set-resources of the user's own replaces them)."""
    given: Mapping[str, Any] = workflow.resource_settings.overwrite_resources.get(rule, {})
    return {name: getattr(value, "raw", value) for name, value in given.items()}


def dag_targets(workflow) -> list[str]:
    """The files and rules named on the command line; empty while the Snakefile is read (the
    settings arrive once the DAG is built) and when none is named (rule all)."""
    settings = workflow.dag_settings
    return list(settings.targets) if settings else []


def needrun_jobs(workflow) -> list[tuple[str, dict[str, str], set[str]]]:
    """The jobs the built DAG will run: (rule name, wildcards, the names of its reasons)."""
    dag = workflow.dag
    return [
        (job.rule.name, dict(job.wildcards_dict), set(dag.reason(job).get_names()))
        for job in dag.needrun_jobs()
    ]


# -- Snakemake's records in .snakemake (FilePersistence) --------------------------------------


def file_persistence(workflow):
    """Snakemake's own FilePersistence for this working directory, made as
    ``Workflow._prepare_dag`` makes it on the main process (``.snakemake``, the run's conda and
    apptainer prefixes), without taking its lock; None when the run keeps its records in a
    database (``--persistence-backend db``)."""
    from snakemake.persistence.file import FilePersistence
    from snakemake.settings.types import PersistenceBackend

    if workflow.workflow_settings.persistence_backend != PersistenceBackend.FILE:
        return None
    deployment = workflow.deployment_settings
    return FilePersistence(
        nolock=True,
        conda_prefix=getattr(deployment, "conda_prefix", None),
        singularity_prefix=getattr(deployment, "apptainer_prefix", None),
    )


def mark_incomplete(persistence, path: str) -> None:
    """Mark the output ``path`` incomplete, as Snakemake does when a job that makes it starts."""
    persistence._mark_incomplete(path, None)


def unmark_incomplete(persistence, path: str) -> None:
    """Remove Snakemake's incomplete marker of the output ``path``."""
    persistence._unmark_incomplete(path)


def incomplete_among(persistence, paths: Iterable[str]) -> set[str]:
    """Those of ``paths`` that Snakemake has marked incomplete."""
    return persistence._filter_incomplete_keys(paths)
