"""Resuming after a kill: finished-job records and Snakemake's lock and incomplete markers.

A SLURM job that runs a Snakemake job group and is killed (time limit, ``scancel``, node failure)
is submitted again with every member, and Snakemake deletes a member's outputs before running it
unless they are flagged ``update()``. The training and prototype rules flag them in cluster
jobs, and ``runner.rule_script(snakemake, keep_finished=True)`` records each finished job's
outputs (sha256 under ``.snakemake/transfer_tsc-finished/``, cleared when a run starts): a member
that finished before the kill keeps its files instead of training again.

The Snakefile also calls ``release_stale_lock`` and ``record_lock_owner``: a run that was killed
(SIGKILL, pre-emption, power loss) leaves Snakemake's lock behind; the next run removes it when
the process that held it is gone, so re-running the same command is enough. The same kill can
come after a job's script ended and before Snakemake took note (the job's process still exiting):
its outputs stay marked incomplete, and ``rerun-incomplete`` would make them again.
``keep_finished_outputs``, called when the next run parses the Snakefile (before it builds the
DAG), removes those marks where the job's record and its outputs' sha256 say it finished; also
on a local run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
from pathlib import Path

from transfer_tsc import settings
from transfer_tsc.io import sha256, write_text
from transfer_tsc.study import STUDY_RECORDS, job_key, recorded_outputs
from transfer_tsc.workflow import compat

# Jobs whose rule script ended (rule_script's keep_finished), cleared by the onstart hook.
FINISHED_DIR = Path(".snakemake/transfer_tsc-finished")

# Snakemake's lock files (FilePersistence).
LOCK_DIR = Path(".snakemake/locks")

# Snakemake's markers of outputs whose job started and has not finished (FilePersistence;
# one file per output, named by the urlsafe base64 of its path, in snakemake/persistence/file.py).
INCOMPLETE_DIR = Path(".snakemake/incomplete")


# The marker Snakemake writes into a directory() output once its job has finished (after the
# rule script, so after the job's record): not part of what the job made.
SNAKEMAKE_MARKER = ".snakemake_timestamp"


def _digest(path: Path) -> str:
    """sha256 of a file; of a folder, the sha256 of its files' relative names and sha256s
    (Snakemake's own marker left out)."""
    if not path.is_dir():
        return sha256(path)
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name != SNAKEMAKE_MARKER)
    listing = "".join(f"{file.relative_to(path)}\0{sha256(file)}\n" for file in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def _finished_record(snakemake) -> Path:
    return FINISHED_DIR / f"{job_key(snakemake.rule, dict(snakemake.wildcards.items()))}.json"


def _output_digests(snakemake) -> dict[str, str]:
    return {str(path): _digest(Path(path)) for path in snakemake.output}


def config_digest(config: dict) -> str:
    """sha256 of a validated config's settings that can change a result (its JSON, keys sorted;
    ``settings.result_config``: not the training cadence or the resources)."""
    kept = settings.result_config(config)
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def record_finished(snakemake) -> None:
    """Note that the job finished in this run: the sha256 of each of its outputs and of the
    run's config (and its record with the study, ``record_in_study``)."""
    record_in_study(snakemake)
    record = _finished_record(snakemake)
    record.parent.mkdir(parents=True, exist_ok=True)
    content = {"config": config_digest(snakemake.config), "outputs": _output_digests(snakemake)}
    write_text(json.dumps(content, indent=1), record)


# Jobs of this run whose only reason to run is an input made again by another job (written at
# the start of the run, ``note_reusable_jobs``): they may keep their outputs when the inputs are
# byte-identical to the ones they ran on.
REUSABLE = Path(".snakemake/transfer_tsc-reusable.json")

# Snakemake's reasons (``Reason.get_names``) that say only that an input was made again.
_INPUT_REMADE = {"updated input files", "input files updated by another job"}


def study_record_path(snakemake) -> Path:
    """``results/records/<rule>/<wildcard=value,...>.json``."""
    return STUDY_RECORDS / f"{job_key(snakemake.rule, dict(snakemake.wildcards.items()))}.json"


def _input_digests(snakemake) -> dict[str, str]:
    """sha256 of every file the job reads: its inputs, and each run's source model (params
    ``source_models``: the rule lists run 1's alone as input)."""
    paths = [str(path) for path in getattr(snakemake, "input", ())]
    params = getattr(snakemake, "params", None)
    source_models = getattr(params, "source_models", None) or {}
    paths += [str(path) for runs in source_models.values() for path in runs]
    return {path: _digest(Path(path)) for path in dict.fromkeys(paths)}


def params_digest(snakemake) -> str:
    """sha256 of a job's params (their JSON, keys sorted): the settings Snakemake compares."""
    params = dict(snakemake.params.items()) if getattr(snakemake, "params", None) else {}
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def _study_record(snakemake) -> dict:
    return {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "params": params_digest(snakemake),
        "config": config_digest(snakemake.config),
        "inputs": _input_digests(snakemake),
        "outputs": _output_digests(snakemake),
    }


def record_in_study(snakemake) -> None:
    """Keep the finished job's record with the study (``STUDY_RECORDS``)."""
    path = study_record_path(snakemake)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(json.dumps(_study_record(snakemake), indent=1), path)


def note_reusable_jobs(workflow) -> None:
    """Called when a run starts (``onstart``, the DAG built): write the jobs that run only because
    one of their inputs is made again (or is newer) by this run, no other reason (not forced, no
    missing or incomplete output, same params and code): ``reusable`` lets those keep their
    outputs when the inputs are byte-identical."""
    keys = sorted(
        job_key(rule, wildcards)
        for rule, wildcards, reasons in compat.needrun_jobs(workflow)
        if reasons and reasons <= _INPUT_REMADE
    )
    REUSABLE.parent.mkdir(parents=True, exist_ok=True)
    write_text(json.dumps(keys), REUSABLE)


def reusable(snakemake) -> bool:
    """True when the job runs only because an input was made again (``note_reusable_jobs``) and
    its inputs, params, result settings and outputs all have the sha256 of its study record:
    the run would repeat itself, so its outputs are kept."""
    try:
        noted = set(json.loads(REUSABLE.read_text()))
        if job_key(snakemake.rule, dict(snakemake.wildcards.items())) not in noted:
            return False
        recorded = json.loads(study_record_path(snakemake).read_text())
        return recorded == _study_record(snakemake)
    except (OSError, ValueError, TypeError):
        return False


def damaged_outputs(paths: list[str], rules: tuple[str, ...]) -> dict[str, str]:
    """Of ``paths`` (HDF5 outputs of finished jobs of ``rules``: models, prototypes), those present
    but damaged: a sha256 other than the one recorded when its job finished, each with why. A
    file without a record (made by hand, or by an older version) is left to the job that reads
    it, which refuses it by name if it does not open; missing ones are left to Snakemake."""
    recorded = recorded_outputs(rules=rules)
    damaged = {}
    for path in paths:
        file = Path(path)
        digest = recorded.get(file)
        if digest is not None and file.is_file() and sha256(file) != digest:
            damaged[path] = "its sha256 differs from the one recorded when its job finished"
    return damaged


def mark_damaged_for_rerun(workflow, paths: list[str], rules: tuple[str, ...]) -> str | None:
    """Mark each damaged output of ``paths`` (``damaged_outputs``) incomplete in Snakemake's own
    records, so that the run makes it again (``rerun-incomplete``, profiles/default) instead of
    "Nothing to be done". Return a note naming them (None when none is damaged)."""
    damaged = damaged_outputs(paths, rules)
    if not damaged or any(LOCK_DIR.glob("*.lock")):
        return None
    persistence = compat.file_persistence(workflow)
    if persistence is None:
        return None
    for path in damaged:
        compat.mark_incomplete(persistence, path)
    return "made again, damaged: " + "; ".join(f"{path} ({why})" for path, why in damaged.items())


def finished_in_this_run(snakemake) -> bool:
    """True when the job finished earlier in this run and its outputs are the ones it wrote."""
    try:
        recorded = json.loads(_finished_record(snakemake).read_text())
        return recorded["outputs"] == _output_digests(snakemake)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def clear_finished_records() -> None:
    """Called when a run starts (``onstart``, after the DAG is built, so after
    ``keep_finished_outputs`` has read them): from then on a record is a job of this run."""
    shutil.rmtree(FINISHED_DIR, ignore_errors=True)


def finished_records() -> list[dict]:
    """Every finished-job record present: each job's ``config`` digest and its ``outputs`` with
    their sha256 (unreadable records left out)."""
    records = []
    for path in sorted(FINISHED_DIR.glob("*/*.json")) if FINISHED_DIR.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (
            isinstance(record, dict)
            and isinstance(record.get("outputs"), dict)
            and record["outputs"]
        ):
            records.append(record)
    return records


def _unchanged(record: dict[str, str]) -> bool:
    """True when every output of a finished-job record is still the one the job wrote."""
    try:
        return all(_digest(Path(path)) == digest for path, digest in record.items())
    except OSError:
        return False


def keep_finished_outputs(workflow, config: dict) -> str | None:
    """Called when the Snakefile is parsed on the main process, before Snakemake reads its
    incomplete markers to build the DAG (``DAG.check_incomplete``): a run killed after a job's
    rule script ended (its record written, every output complete) but before Snakemake took note
    leaves the outputs marked incomplete, and ``rerun-incomplete`` would make them again. For each
    job whose record's outputs all still have the recorded sha256, remove Snakemake's markers of
    them (``compat.incomplete_among`` / ``compat.unmark_incomplete``, keyed by the output's path
    as the rule names it); any other stays incomplete, e.g. an output rewritten since (by another
    run, or by hand), and is made again. Nothing is done while a run holds the lock (its jobs'
    markers are its own). Snakemake has no metadata of a job it never saw end, so a job is kept
    only when the run's validated ``config`` is the one it ran under (its record's digest): after
    a settings change its outputs are made again, as before. Return a note of how many outputs
    were kept (None if none)."""
    records = finished_records()
    if not records or any(LOCK_DIR.glob("*.lock")):
        return None
    if not (INCOMPLETE_DIR.is_dir() and any(p.is_file() for p in INCOMPLETE_DIR.rglob("*"))):
        return None  # nothing marked: no persistence opened (no .snakemake made by --lint)
    persistence = compat.file_persistence(workflow)
    if persistence is None:
        return None
    kept, digest = 0, config_digest(config)
    for record in records:
        marked = compat.incomplete_among(persistence, record["outputs"])
        if marked and record.get("config") == digest and _unchanged(record["outputs"]):
            for key in marked:
                compat.unmark_incomplete(persistence, key)
            kept += len(marked)
    if not kept:
        return None
    return (
        f"kept {kept} output{'s' if kept > 1 else ''} of jobs that had finished when the last run "
        f"was interrupted (same sha256 as when written, {FINISHED_DIR}): not made again"
    )


class _NoBackupFilter(logging.Filter):
    """Drops Snakemake's "Cannot restore <path>: no backup found." (its ``restore_output``):
    said of every update()-flagged output of a failed job that had no previous version to back
    up (a first run), or whose backup the cluster job made and restored on its own node."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Cannot restore ") and message.endswith("no backup found."))


def quiet_missing_backup_warnings() -> None:
    """Install ``_NoBackupFilter`` on Snakemake's logger (once per process)."""
    logger = logging.getLogger("snakemake.logging")
    if not any(isinstance(f, _NoBackupFilter) for f in logger.filters):
        logger.addFilter(_NoBackupFilter())


# Our record of the run that holds Snakemake's lock.
LOCK_OWNER = Path(".snakemake/transfer_tsc-lock-owner")


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), None when it does not exist."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        if not Path("/proc").is_dir():  # no procfs: aliveness only
            try:
                os.kill(pid, 0)
                return "alive"
            except ProcessLookupError:
                return None
            except PermissionError:
                return "alive"
        return None


def record_lock_owner() -> None:
    """Called when a run starts (``onstart``), after Snakemake took its lock: note which process
    on which host holds it."""
    pid = os.getpid()
    LOCK_OWNER.parent.mkdir(parents=True, exist_ok=True)
    LOCK_OWNER.write_text(f"{socket.gethostname()} {pid} {_process_start(pid)}\n")


def clear_lock_owner() -> None:
    """Called when a run ends (``onsuccess`` / ``onerror``); Snakemake removes its lock itself."""
    LOCK_OWNER.unlink(missing_ok=True)


def release_stale_lock() -> str | None:
    """Remove the lock of a run that was killed, when it is certain that run is gone: its record
    is newer than the lock, names this host, and its process no longer exists. Return a note of
    what was removed (None when nothing was)."""
    locks = sorted(LOCK_DIR.glob("*.lock")) if LOCK_DIR.is_dir() else []
    if not locks or not LOCK_OWNER.is_file():
        return None
    try:
        host, pid, start = LOCK_OWNER.read_text().split()
        if LOCK_OWNER.stat().st_mtime_ns < max(f.stat().st_mtime_ns for f in locks):
            return None  # locked again since the record was written: a run is starting
        if host != socket.gethostname() or _process_start(int(pid)) == start:
            return None  # another machine's run, or still running
    except (OSError, ValueError):
        return None
    for lock in locks:
        lock.unlink(missing_ok=True)
    LOCK_OWNER.unlink(missing_ok=True)
    return f"removed the lock left by an interrupted run (snakemake pid {pid} is gone)"
