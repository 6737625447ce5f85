"""What every rule script shares: its log file, quiet TensorFlow, and one-line errors.

A rule script is ``with rule_script(snakemake) as log: <package calls>``; a PipelineError (bad
input, or dtaidistance's C library failing its start-up check) ends the job with its message in
the log and on stderr, no traceback. A job whose resident memory exceeds its ``mem_mb`` resource
stops with a message saying so (a memory watchdog), instead of being killed silently by the
kernel or the cluster.

A SLURM job that runs a Snakemake job group and is killed (time limit, ``scancel``, node failure)
is submitted again with every member, and Snakemake deletes a member's outputs before running it
unless they are flagged ``update()``. The training and prototype rules flag them in cluster
jobs, and ``rule_script(snakemake, keep_finished=True)`` records each finished job's outputs
(sha256 under ``.snakemake/transfer_tsc-finished/``, cleared when a run starts): a member that
finished before the kill keeps its files instead of training again.

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

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import time
import socket
import threading
import _thread
from collections.abc import Callable, Iterator
from pathlib import Path

from . import config as settings
from .errors import PipelineError
from .zoo import sha256


def select_backend(config: dict) -> str:
    """Set ``KERAS_BACKEND`` from the config key ``training.backend`` (the schema gives its
    default and refuses other names).

    Must run before Keras is imported; if Keras already runs on another backend, raise.
    """
    name = settings.validate(config)["training"]["backend"]
    os.environ["KERAS_BACKEND"] = name
    if "keras" in sys.modules:
        running = sys.modules["keras"].backend.backend()
        if running != name:
            raise RuntimeError(f"Keras was imported on the {running} backend before select_backend({name!r})")
    import_keras_quietly()
    return name


def import_keras_quietly() -> None:
    """Import Keras (which imports TensorFlow when installed) and let TensorFlow look for its
    devices with the process's stderr (file descriptor 2) on /dev/null. TensorFlow's C++
    libraries print start-up notices through absl before they read TF_CPP_MIN_LOG_LEVEL
    (oneDNN, CUDA stubs, "failed call to cuInit" on a machine without a GPU), about 20 lines a
    job; a failed import still raises its exception, printed once stderr is back."""
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


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
    wildcards = ",".join(f"{k}={v}" for k, v in sorted(dict(snakemake.wildcards.items()).items()))
    return FINISHED_DIR / snakemake.rule / f"{wildcards or 'job'}.json"


def _output_digests(snakemake) -> dict[str, str]:
    return {str(path): _digest(Path(path)) for path in snakemake.output}


def record_finished(snakemake) -> None:
    """Note that the job finished, with the sha256 of each of its outputs."""
    from .io import write_text

    record = _finished_record(snakemake)
    record.parent.mkdir(parents=True, exist_ok=True)
    write_text(json.dumps(_output_digests(snakemake), indent=1), record)


def finished_in_this_run(snakemake) -> bool:
    """True when the job finished earlier in this run and its outputs are the ones it wrote."""
    try:
        recorded = json.loads(_finished_record(snakemake).read_text())
        return recorded == _output_digests(snakemake)
    except (OSError, ValueError):
        return False


def clear_finished_records() -> None:
    """Called when a run starts (``onstart``, after the DAG is built, so after
    ``keep_finished_outputs`` has read them): from then on a record is a job of this run."""
    shutil.rmtree(FINISHED_DIR, ignore_errors=True)


def finished_records() -> list[dict[str, str]]:
    """Every finished-job record present: each job's outputs and their sha256 (unreadable
    records left out)."""
    records = []
    for path in sorted(FINISHED_DIR.glob("*/*.json")) if FINISHED_DIR.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record:
            records.append(record)
    return records


def _unchanged(record: dict[str, str]) -> bool:
    """True when every output of a finished-job record is still the one the job wrote."""
    try:
        return all(_digest(Path(path)) == digest for path, digest in record.items())
    except OSError:
        return False


def snakemake_file_persistence(workflow):
    """Snakemake's own FilePersistence for this working directory, made as ``Workflow._prepare_dag``
    makes it on the main process (``.snakemake``, the run's conda and apptainer prefixes); None
    when the run keeps its records in a database (``--persistence-backend db``)."""
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


def keep_finished_outputs(workflow) -> str | None:
    """Called when the Snakefile is parsed on the main process, before Snakemake reads its
    incomplete markers to build the DAG (``DAG.check_incomplete``): a run killed after a job's
    rule script ended (its record written, every output complete) but before Snakemake took note
    leaves the outputs marked incomplete, and ``rerun-incomplete`` would make them again. For each
    job whose record's outputs all still have the recorded sha256, remove Snakemake's markers of
    them (its ``_filter_incomplete_keys`` / ``_unmark_incomplete``, keyed by the output's path as
    the rule names it); any other stays incomplete, e.g. an output rewritten since (by another
    run, or by hand), and is made again. Nothing is done while a run holds the lock (its jobs'
    markers are its own). Snakemake has no metadata of a job it never saw end: as for any output
    without metadata, a params or code change made between the kill and the re-run does not make
    a kept output again. Return a note of how many outputs were kept (None if none)."""
    records = finished_records()
    if not records or any(LOCK_DIR.glob("*.lock")):
        return None
    if not (INCOMPLETE_DIR.is_dir() and any(p.is_file() for p in INCOMPLETE_DIR.rglob("*"))):
        return None  # nothing marked: no persistence opened (no .snakemake made by --lint)
    persistence = snakemake_file_persistence(workflow)
    if persistence is None:
        return None
    kept = 0
    for record in records:
        marked = persistence._filter_incomplete_keys(record)
        if marked and _unchanged(record):
            for key in marked:
                persistence._unmark_incomplete(key)
            kept += len(marked)
    if not kept:
        return None
    return (
        f"kept {kept} output{'s' if kept > 1 else ''} of jobs that had finished when the last run "
        f"was interrupted (same sha256 as when written, {FINISHED_DIR}): not made again"
    )


# Our record of the run that holds Snakemake's lock.
LOCK_OWNER = Path(".snakemake/transfer_tsc-lock-owner")
WATCH_SECONDS = 0.5


def resident_mb() -> float:
    """This process's resident memory (RSS) in MB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB, peak


class MemoryWatchdog:
    """Poll RSS every ``WATCH_SECONDS``; past ``limit_mb``, stop the main thread with a message
    (and end the process if the main thread does not stop within ``grace`` seconds)."""

    def __init__(
        self, limit_mb: float, rule: str, what: str, log: Callable[[str], None], grace: float = 10.0
    ):
        self.limit_mb, self.rule, self.what = float(limit_mb), rule, what
        self.log, self.grace = log, grace
        self.message: str | None = None
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="memory-watchdog", daemon=True)

    def __enter__(self) -> "MemoryWatchdog":
        # interrupt_main does nothing while SIGINT is ignored or at its default (as it can be in
        # a job's process): Python's own handler makes it raise KeyboardInterrupt
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            used = resident_mb()
            self.peak_mb = max(self.peak_mb, used)
            if used > self.limit_mb:
                self.message = (
                    f"{self.what}: memory use {used:.0f} MB exceeded mem_mb={self.limit_mb:.0f}; "
                    f"give it more (--set-resources {self.rule}:mem_mb=<MB>, or the config's "
                    "resources) on a machine that has it"
                )
                self.log(f"Error: {self.message}")
                _thread.interrupt_main()
                if not self._stop.wait(self.grace):
                    os._exit(1)
                return


def _job_name(snakemake) -> str:
    wildcards = ", ".join(f"{k}={v}" for k, v in dict(snakemake.wildcards.items()).items())
    return f"rule {snakemake.rule}" + (f" ({wildcards})" if wildcards else "")


def _mem_mb(snakemake) -> float | None:
    try:
        value = snakemake.resources.get("mem_mb")
    except AttributeError:
        value = getattr(snakemake.resources, "mem_mb", None)
    try:
        return float(value) if value else None
    except (TypeError, ValueError):
        return None


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


class _LineHandler(logging.Handler):
    def __init__(self, log: Callable[[str], None]):
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log(record.getMessage())


@contextlib.contextmanager
def package_log_to(log: Callable[[str], None]) -> Iterator[None]:
    """While inside, send the package's own log records (``logging.getLogger("transfer_tsc.*")``,
    INFO and above, e.g. a dataset z-normalised by ``data.znormalise: auto``) to ``log``."""
    logger = logging.getLogger(__package__)
    handler = _LineHandler(log)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


@contextlib.contextmanager
def rule_script(snakemake, keep_finished: bool = False) -> Iterator[Callable[[str], None]]:
    """Yield a ``log(line)`` function writing to the rule's log (and stderr); turn a PipelineError
    into a one-line message and a non-zero exit.

    With ``keep_finished`` (rules whose outputs are flagged ``update()``), a job that already
    finished in this run, as a member of a group job that was killed and submitted again, exits
    at once keeping its outputs; a job that ends normally is recorded as finished."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    stream = open(log_path, "a", buffering=1) if log_path else sys.stderr

    def log(line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        print(stamped, file=stream, flush=True)
        if stream is not sys.stderr:
            print(stamped, file=sys.stderr, flush=True)

    limit = _mem_mb(snakemake)
    watchdog = MemoryWatchdog(limit, snakemake.rule, _job_name(snakemake), log) if limit else None
    try:
        if keep_finished and finished_in_this_run(snakemake):
            log(
                f"{_job_name(snakemake)} finished earlier in this run (its group job was "
                "submitted again): outputs kept, not trained again"
            )
            sys.exit(0)
        with watchdog or contextlib.nullcontext(), package_log_to(log):
            yield log
        if watchdog is not None and watchdog.message is not None:
            sys.exit(1)  # over its memory, but the interrupt was swallowed (e.g. by TensorFlow)
        if keep_finished:
            record_finished(snakemake)
    except PipelineError as error:
        log(f"Error: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        if watchdog is None or watchdog.message is None:
            raise
        sys.exit(1)  # the watchdog has logged why
    except Exception:
        if watchdog is None or watchdog.message is None:
            raise
        sys.exit(1)  # the interrupt surfaced as another error (inside a TensorFlow call)
    finally:
        if stream is not sys.stderr:
            stream.close()
