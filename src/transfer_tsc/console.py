"""Time-stamped log lines, for a workflow job's log (``workflow.runner``) and the
``transfer-tsc`` command (``cli``); the package's own log records sent to such a log."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

# A log: one line at a time, time-stamped.
Log = Callable[[str], None]


def stamped_log(file: TextIO | None = None) -> Log:
    """A log writing each line as ``HH:MM:SS line`` to ``file`` (when given), then to stderr."""

    def log(line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        if file is not None:
            print(stamped, file=file, flush=True)
        print(stamped, file=sys.stderr, flush=True)

    return log


class _LineHandler(logging.Handler):
    def __init__(self, log: Log):
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log(record.getMessage())


@contextlib.contextmanager
def package_log_to(log: Log) -> Iterator[None]:
    """While inside, send the package's own log records (``logging.getLogger("transfer_tsc.*")``,
    INFO and above, e.g. a dataset z-normalised by ``data.znormalise: auto``) to ``log``."""
    logger = logging.getLogger("transfer_tsc")
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
