"""Atomic file output: every file is written under a temporary name in its own folder and
renamed into place, so a reader never sees a half-written file and an interrupted job leaves
nothing that looks finished."""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import h5py
import pandas as pd

from transfer_tsc.errors import InputError, OutputError

_UMASK = os.umask(0)
os.umask(_UMASK)
_CHUNK = 1 << 20


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it onto ``path`` on success."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent
        )
    except OSError as error:
        _raise_if_refused(error, target)
        raise
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_UMASK)
    try:
        yield tmp
        os.replace(tmp, target)
    except Exception as error:
        _raise_if_refused(error, target)
        raise
    finally:
        if tmp.exists():
            tmp.unlink()
    # temporaries of a writer that was killed (one writer per path: Snakemake's outputs)
    for stale in target.parent.glob(
        f".{glob.escape(target.name)}.*.tmp{glob.escape(target.suffix)}"
    ):
        stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces the folder ``path``
    whole (an older one removed first), so a reader sees the old folder or the new one."""
    folder = Path(path)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield staging
        if folder.is_dir():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, index: bool = False) -> None:
    """Write a CSV atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=index)


def write_text(text: str, path: str | os.PathLike) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def open_hdf5(path: str | os.PathLike) -> h5py.File:
    """Open an HDF5 file for reading, reporting an unreadable one as corrupt with its path."""
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as error:
        reason = " ".join(str(error).split())
        raise InputError(
            f"{path}: not a readable HDF5 file (corrupt or truncated?): {reason}"
        ) from None


def sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# errno values of a write the file system refused: no permission, read-only, disk or quota full.
_WRITE_REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

# A temporary name of ``atomic_path``: ".<name>.<random>.tmp<suffix>" beside <name>.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[^.]+\.tmp(?P<suffix>\.[^.]*)?$")


def written_path(path: str | os.PathLike) -> Path:
    """The file a temporary name of ``atomic_path`` stands for (other paths unchanged)."""
    path = Path(path)
    match = _TEMPORARY.match(path.name)
    return path.with_name(match["name"]) if match else path


def write_refused(error: BaseException | None, path: str | os.PathLike | None = None) -> str | None:
    """One line for an error of writing a file that the file system refused (read-only, no
    permission, disk or quota full), found in ``error`` or the error it was raised from, naming
    the file being written (the one the error names, else ``path``) and the cause; None for any
    other error. Reads ``OSError.errno`` / ``filename``, or the "name = '...', errno = N" that
    HDF5 puts in its messages."""
    for cause in (error, getattr(error, "__cause__", None), getattr(error, "__context__", None)):
        if not isinstance(cause, OSError):
            continue
        code, name = cause.errno, cause.filename
        if code is None:
            text = str(cause)
            found = re.search(r"errno = (\d+)", text)
            code = int(found[1]) if found else None
            found = re.search(r"name = '([^']+)'", text)
            name = found[1] if found else None
        if code in _WRITE_REFUSED:
            named = name or path
            where = str(written_path(named)) if named else "an output file"
            kept = "(the previous version, if any, is kept)"
            return f"{where}: cannot write: {os.strerror(code)} {kept}"
    return None


def _raise_if_refused(error: BaseException, path: Path) -> None:
    """Raise an OutputError naming ``path`` when ``error`` is a write the file system refused."""
    refused = write_refused(error, path)
    if refused is not None:
        raise OutputError(refused) from None
