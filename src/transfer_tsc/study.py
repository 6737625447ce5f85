"""The study's bookkeeping: which sources are fine-tuned on which target, how they are grouped
into batched jobs, and the gathered result tables (paper section IV-B: 85 x 84 pairs)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd


def sources_for(target: str, datasets: Sequence[str]) -> list[str]:
    """Every other dataset, sorted: the paper fine-tunes each pre-trained model on all others."""
    return sorted(d for d in datasets if d != target)


def batch_id(sources: Sequence[str]) -> str:
    """A name for a group of sources: the source itself for one, else first+count_hash."""
    if len(sources) == 1:
        return sources[0]
    digest = hashlib.sha1("\n".join(sources).encode()).hexdigest()[:8]
    return f"{sources[0]}+{len(sources) - 1}_{digest}"


def batches(sources: Sequence[str], group_size: int) -> dict[str, list[str]]:
    """Consecutive groups of at most ``group_size`` sources, keyed by batch id."""
    groups = [list(sources[i : i + group_size]) for i in range(0, len(sources), group_size)]
    return {batch_id(group): group for group in groups}


def batch_of(source: str, sources: Sequence[str], group_size: int) -> str:
    """The id of the batch that holds ``source``."""
    index = list(sources).index(source)
    start = index - index % group_size
    return batch_id(sources[start : start + group_size])


def scratch_table(metrics: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """One row per dataset: its from-scratch (pre-training) test accuracy and training record."""
    return pd.concat(list(metrics), ignore_index=True).sort_values("dataset").reset_index(drop=True)


def transfer_matrix(metrics: Iterable[pd.DataFrame], datasets: Sequence[str]) -> pd.DataFrame:
    """Fine-tuned test accuracy, rows source and columns target; pairs not run are empty (NaN)."""
    frame = pd.concat(list(metrics), ignore_index=True)
    matrix = frame.pivot(index="source", columns="target", values="test_accuracy")
    names = sorted(datasets)
    matrix = matrix.reindex(index=names, columns=names).astype(float)
    matrix.index.name, matrix.columns.name = "source", None
    return matrix.mask(np.eye(len(names), dtype=bool))


def link_pair_outputs(batch_dir: str, source: str, outputs) -> None:
    """Publish one pair's files from its batch folder (hard links: no copy, no half-file)."""
    import os
    from pathlib import Path

    from .io import atomic_path

    for path in outputs:
        origin = Path(batch_dir) / source / Path(path).name
        with atomic_path(path) as tmp:
            tmp.unlink()
            try:
                os.link(origin, tmp)
            except OSError:
                import shutil

                shutil.copyfile(origin, tmp)
