"""The study's bookkeeping: which sources are fine-tuned on which target, how they are grouped
into batched jobs, and the gathered result tables (paper section IV-B: 85 x 84 pairs)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import InputError
from .transferability import SCORES

# finetune.sources modes that take K: DTW-nearest, random, and the K best by a score
BUDGET_MODES = ("nearest", "random", *SCORES)


def sources_for(target: str, datasets: Sequence[str]) -> list[str]:
    """Every other dataset, sorted: the paper fine-tunes each pre-trained model on all others."""
    return sorted(d for d in datasets if d != target)


def parse_budget(spec: str) -> tuple[str, int | None]:
    """``finetune.sources`` as (mode, K): ("all", None), ("nearest", K), ("random", K) or
    (score, K) for a transferability score (``logme:3``)."""
    mode, _, k = spec.partition(":")
    if mode == "all" and not k:
        return mode, None
    if mode in BUDGET_MODES and k.isdigit() and int(k) > 0:
        return mode, int(k)
    raise InputError(
        f"config key finetune.sources: {spec!r} is not all, nearest:K, random:K or "
        f"<score>:K with a score of {', '.join(SCORES)}"
    )


def within(table: pd.DataFrame, datasets: Sequence[str]) -> pd.DataFrame:
    """The rows of a (target, source, ...) table whose target and source are both among
    ``datasets`` and differ."""
    names = set(datasets)
    rows = table[table["target"].isin(names) & table["source"].isin(names)]
    return rows[rows["source"] != rows["target"]]


def _first_k(ordered: pd.DataFrame, datasets: Sequence[str], k: int, missing: str) -> pd.DataFrame:
    """The selection table (target, rank, source): each target's first ``k`` rows of
    ``ordered`` (best first within a target), ranked 1..k. A dataset with no row is an error
    (``missing: <names>``), unless the study has a single dataset."""
    absent = sorted(set(datasets) - set(ordered["target"]))
    if absent and len(set(datasets)) > 1:
        raise InputError(f"{missing} for target(s) {', '.join(absent)}")
    picked = ordered.groupby("target", sort=True).head(k).copy()
    picked["rank"] = picked.groupby("target").cumcount() + 1
    return picked[["target", "rank", "source"]].reset_index(drop=True)


def nearest_sources(neighbours: pd.DataFrame, datasets: Sequence[str], k: int) -> pd.DataFrame:
    """Budget mode nearest:K (paper section V-C): per target, its K DTW-nearest sources among
    ``datasets`` (``neighbours``: target, rank, source, distance; rank 1 the nearest).

    Returns the selection table (target, rank, source), rank renumbered 1..K within the study.
    A target without neighbours is an error: the similarity step did not cover it."""
    table = within(neighbours, datasets).sort_values(["target", "rank", "source"])
    return _first_k(table, datasets, k, "neighbours table: no DTW neighbours")


def rank_by_score(scores: pd.DataFrame, score: str) -> pd.DataFrame:
    """Per target its sources ranked by ``score``, highest first (ties by source name):
    ``scores`` (target, source, one column per score) with a ``rank`` column added, 1 the
    best."""
    if score not in SCORES:
        raise InputError(f"transferability score {score!r}: expected one of {', '.join(SCORES)}")
    table = scores[scores["source"] != scores["target"]].copy()
    table["_key"] = -table[score]
    table = table.sort_values(["target", "_key", "source"]).drop(columns="_key")
    table["rank"] = table.groupby("target").cumcount() + 1
    return table.reset_index(drop=True)


def scored_sources(
    scores: pd.DataFrame, datasets: Sequence[str], k: int, score: str
) -> pd.DataFrame:
    """Budget mode <score>:K: per target, its K sources among ``datasets`` with the highest
    transferability ``score`` (``results/transferability/scores.csv``); the selection table
    (target, rank, source). A target without scores is an error."""
    ranked = rank_by_score(within(scores, datasets), score)
    return _first_k(ranked, datasets, k, "transferability scores: no scores")


def random_sources(datasets: Sequence[str], k: int, seed: int) -> pd.DataFrame:
    """Budget mode random:K, the control of nearest:K: per target, K sources drawn without
    replacement from all others by a generator seeded with (seed, crc32(target)), so a target's
    draw does not depend on the order in which targets are visited."""
    import zlib

    rows = []
    for target in sorted(datasets):
        pool = sources_for(target, datasets)
        rng = np.random.default_rng([seed, zlib.crc32(target.encode())])
        chosen = rng.choice(len(pool), size=min(k, len(pool)), replace=False)
        rows += [(target, rank, pool[i]) for rank, i in enumerate(chosen, start=1)]
    return pd.DataFrame(rows, columns=["target", "rank", "source"])


def selection_map(selection: pd.DataFrame) -> dict[str, list[str]]:
    """target -> its selected sources, sorted by name (the order batches are formed in)."""
    return {
        target: sorted(group["source"]) for target, group in selection.groupby("target", sort=True)
    }


def read_selection(path: str) -> dict[str, list[str]]:
    """A selection table (target, rank, source) written by the select_sources rule, as a map."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a readable selection table: {error}") from None
    missing = {"target", "rank", "source"} - set(frame.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return selection_map(frame.astype({"target": str, "source": str}))


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

