"""Running one job: its log file, quiet TensorFlow, one-line errors and a memory watchdog.

A job is ``with rule_script(snakemake) as log: <package calls>`` (``jobs.run`` does this for
every rule); a PipelineError (bad input, or dtaidistance's C library failing its start-up check)
ends the job with its message in the log and on stderr, no traceback. A job whose resident
memory exceeds its ``mem_mb`` resource stops with a message saying so (a memory watchdog),
instead of being killed silently by the kernel or the cluster. With ``keep_finished`` the job's
outputs are recorded when it ends (``recovery``), so a kill after that does not cost them.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from transfer_tsc import settings
from transfer_tsc.console import Log, package_log_to, stamped_log
from transfer_tsc.errors import PipelineError
from transfer_tsc.io import write_refused
from transfer_tsc.training.backend import use_backend
from transfer_tsc.workflow.recovery import (
    finished_in_this_run,
    record_finished,
    reusable,
    study_record_path,
)


def select_backend(config: dict) -> str:
    """Set ``KERAS_BACKEND`` from the config key ``training.backend`` (the schema gives its
    default and refuses other names) and import Keras (``backend.use_backend``)."""
    return use_backend(settings.validate(config)["training"]["backend"])


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


@contextlib.contextmanager
def rule_script(
    snakemake, keep_finished: bool = False, setup: Callable[[], object] | None = None
) -> Iterator[Log]:
    """Yield a ``log(line)`` function writing to the rule's log (and stderr); turn a PipelineError
    into a one-line message and a non-zero exit.

    With ``keep_finished``, a job that already finished in this run (a member of a group job
    that was killed and submitted again), or that runs only because an input was made again
    byte-identical (``recovery.reusable``), exits at once keeping its outputs; a job that ends
    normally is recorded as finished (in this run, and with the study). ``setup`` runs once the
    job is known to run, before the memory watchdog starts (importing Keras mutes stderr)."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    stream = open(log_path, "a", buffering=1) if log_path else None
    log = stamped_log(stream)  # the job's log file (when it has one) and stderr

    limit = _mem_mb(snakemake)
    watchdog = MemoryWatchdog(limit, snakemake.rule, _job_name(snakemake), log) if limit else None
    try:
        if keep_finished and finished_in_this_run(snakemake):
            log(
                f"{_job_name(snakemake)} finished earlier in this run (its group job was "
                "submitted again): outputs kept, not trained again"
            )
            sys.exit(0)
        if keep_finished and reusable(snakemake):
            log(
                f"{_job_name(snakemake)}: an input was made again, identical (sha256), and its "
                f"params and outputs are those of its record ({study_record_path(snakemake)}): "
                "outputs kept, not made again"
            )
            sys.exit(0)
        if setup is not None:
            setup()  # e.g. importing Keras, with stderr muted: before the watchdog may speak
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
    except Exception as error:
        if watchdog is not None and watchdog.message is not None:
            sys.exit(1)  # the interrupt surfaced as another error (inside a TensorFlow call)
        refused = write_refused(error)
        if refused is None:
            raise
        log(f"Error: {refused}")
        sys.exit(1)
    finally:
        if stream is not None:
            stream.close()
