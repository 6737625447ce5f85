"""What every rule script shares: its log file, quiet TensorFlow, and one-line errors.

A rule script is ``with rule_script(snakemake) as log: <package calls>``; an InputError ends
the job with its message (naming the file or key) in the log and on stderr, no traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator


from .errors import InputError


@contextlib.contextmanager
def rule_script(snakemake) -> Iterator[Callable[[str], None]]:
    """Yield a ``log(line)`` function writing to the rule's log (and stderr); turn InputError
    into a one-line message and a non-zero exit."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    stream = open(log_path, "a", buffering=1) if log_path else sys.stderr

    def log(line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        print(stamped, file=stream, flush=True)
        if stream is not sys.stderr:
            print(stamped, file=sys.stderr, flush=True)

    try:
        yield log
    except InputError as error:
        log(f"Error: {error}")
        sys.exit(1)
    finally:
        if stream is not sys.stderr:
            stream.close()
