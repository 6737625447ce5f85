"""The study's bookkeeping: which sources are fine-tuned on which target, how they are grouped
into batched jobs, and the gathered result tables (paper section IV-B: 85 x 84 pairs).

The gathers read every per-item result file (a model's ``metrics.csv``, a target's
transferability table) through a validating reader, all of them before anything is written:
a damaged file stops the gather with an ``InputError`` that names it, says what is wrong and
how to have it made again."""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transfer_tsc.errors import InputError
from transfer_tsc.transferability import SCORES
from transfer_tsc.transferability import TABLE_COLUMNS as SCORE_TABLE_COLUMNS

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
    transferability ``score`` (``results/<network>/transferability/scores.csv``); the selection
    table (target, rank, source). A target without scores is an error."""
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
    tables = list(metrics)
    if tables:
        frame = pd.concat(tables, ignore_index=True)
    else:  # no pair fine-tuned (a study of one dataset)
        frame = pd.DataFrame(columns=[*PAIR_IDENTITY, *METRICS_COLUMNS])
    matrix = frame.pivot(index="source", columns="target", values="test_accuracy")
    names = sorted(datasets)
    matrix = matrix.reindex(index=names, columns=names).astype(float)
    matrix.index.name, matrix.columns.name = "source", None
    return matrix.mask(np.eye(len(names), dtype=bool))


# --------------------------------------------------------------------------- per-item files

# A trained model's metrics.csv (transfer.Outcome.metrics, one row): its identity, then these.
METRICS_COLUMNS = (
    "test_accuracy",
    "test_loss",
    "train_loss",
    "epochs",
    "best_epoch",
    "train_seconds",
)
PRETRAIN_IDENTITY = ("dataset",)  # results/<network>/pretrain/<dataset>/metrics.csv
PAIR_IDENTITY = ("source", "target")  # results/<network>/finetune/<source>/<target>/metrics.csv


class _Problem(Exception):
    """What is wrong with a result file; the reader adds its path and how to make it again."""


def _cells(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV file's cells as text ("" where a row is short; nothing turned into NaN), or
    _Problem saying why it is not one."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False).fillna("")
    except FileNotFoundError:
        raise _Problem("file not found") from None
    except pd.errors.EmptyDataError:
        raise _Problem("empty file") from None
    except UnicodeDecodeError as error:
        raise _Problem(f"not a text file ({error})") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise _Problem(f"not a readable CSV table ({' '.join(str(error).split())})") from None


def _exact_columns(cells: pd.DataFrame, columns: Sequence[str], kind: str) -> None:
    """Refuse a table whose columns are not exactly ``columns`` (in any order)."""
    found = [str(c) for c in cells.columns]
    missing = [c for c in columns if c not in found]
    extra = [repr(c[:40]) for c in found if c not in columns]
    if missing or extra:
        parts = ([f"no column {', '.join(missing)}"] if missing else []) + (
            [f"unexpected column {', '.join(extra)}"] if extra else []
        )
        raise _Problem(f"not {kind} ({'; '.join(parts)})")


def _number(text: object, column: str) -> float:
    """A cell as a number, or _Problem naming the column."""
    if not isinstance(text, str) or not text.strip():
        raise _Problem(f"{column} has no value")
    try:
        return float(text)
    except ValueError:
        raise _Problem(f"{column} is {text[:40]!r}, not a number") from None


def _numbers(cells: pd.DataFrame) -> np.ndarray:
    """A table of cells as numbers (one vectorised conversion: probability tables have a row per
    test series), or _Problem naming the first cell's column that is not one."""
    numbers = cells.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    unreadable = np.isnan(numbers) & (cells.apply(lambda c: c.str.strip().str.lower()) != "nan")
    if unreadable.to_numpy().any():
        row, column = np.argwhere(unreadable.to_numpy())[0]
        _number(cells.iat[row, column], str(cells.columns[column]))
    return numbers


def _checked_metrics(row: pd.Series) -> dict[str, object]:
    """The metric values of a metrics.csv row, typed and checked."""
    values = {column: _number(row[column], column) for column in METRICS_COLUMNS}
    for column in METRICS_COLUMNS:
        if not math.isfinite(values[column]):
            raise _Problem(f"{column} is {values[column]}, not a finite number")
    accuracy = values["test_accuracy"]
    if not 0 <= accuracy <= 1:
        raise _Problem(f"test_accuracy is {accuracy}, outside [0, 1]")
    for column in ("test_loss", "train_loss", "train_seconds"):
        if values[column] < 0:
            raise _Problem(f"{column} is {values[column]}, below 0")
    for column in ("epochs", "best_epoch"):
        if values[column] != int(values[column]) or values[column] < 1:
            raise _Problem(f"{column} is {row[column]!r}, not a whole number of at least 1")
        values[column] = int(values[column])
    if values["best_epoch"] > values["epochs"]:
        raise _Problem(
            f"best_epoch {values['best_epoch']} is after the last epoch, {values['epochs']}"
        )
    return values


def _batch_copy(path: Path, source: str, target: str) -> Path | None:
    """The batch file a fine-tuned pair's file was linked from (batched studies), if any:
    ``results/finetune_batches/<target>/<batch>/<source>/<name>``."""
    if len(path.parents) < 4:
        return None
    batches = glob.escape(str(path.parents[3] / "finetune_batches" / target))
    found = sorted(
        glob.glob(os.path.join(batches, "*", glob.escape(source), glob.escape(path.name)))
    )
    return Path(found[0]) if found else None


def remake_hint(path: str | os.PathLike, identity: dict[str, str]) -> str:
    """How to have a damaged per-item result file made again: delete it (and, for a fine-tuned
    pair's file hard-linked from a damaged batch file, the batch), so that Snakemake re-runs
    the job that writes it."""
    path = Path(path)
    if set(identity) == set(PRETRAIN_IDENTITY):
        return f"delete it to have its job (rule pretrain, {identity['dataset']}) make it again"
    if set(identity) == {"target"}:
        return (
            f"delete it to have its job (rule transferability, {identity['target']}) make it again"
        )
    pair = f"{identity['source']} -> {identity['target']}"
    batch_file = _batch_copy(path, identity["source"], identity["target"])
    if batch_file is None:
        return f"delete it to have its job (rule finetune, {pair}) make it again"
    batch = batch_file.parents[1]
    if path.exists() and os.path.samefile(path, batch_file):
        return (
            f"delete it and {batch} (the batch it is linked from, damaged too) to have their jobs "
            f"(rules finetune_batch and finetune_pair, {pair}) make them again"
        )
    return f"delete it to have its job (rule finetune_pair, {pair}) link it again from {batch}"


def read_metrics(path: str | os.PathLike, **identity: str) -> pd.DataFrame:
    """A trained model's ``metrics.csv`` (``transfer.write_outcome``), checked: a readable CSV
    with exactly the columns ``identity`` + ``METRICS_COLUMNS``, one row, the identity given
    (``dataset=`` for a pre-trained model, ``source=`` and ``target=`` for a fine-tuned pair),
    finite numbers, the accuracy in [0, 1], losses and seconds not negative, 1 <= best_epoch <=
    epochs. Returns the row typed, columns in the writer's order; a damaged file raises
    InputError naming it, the problem and how to have it made again."""
    columns = (*identity, *METRICS_COLUMNS)
    try:
        cells = _cells(path)
        _exact_columns(cells, columns, "a metrics table")
        if len(cells) != 1:
            raise _Problem(f"{len(cells)} rows, expected one")
        row = cells.iloc[0]
        for column, expected in identity.items():
            if row[column] != expected:
                raise _Problem(
                    f"{column} is {row[column][:40]!r}, expected {expected!r} (from its path)"
                )
        values = _checked_metrics(row)
    except _Problem as problem:
        raise InputError(f"{path}: {problem}; {remake_hint(path, identity)}") from None
    return pd.DataFrame([{**identity, **values}], columns=list(columns))


def item_folder(path: str | os.PathLike, in_run_folder: bool = False) -> tuple[Path, int]:
    """The folder of a trained item's file (``.../pretrain/<dataset>``,
    ``.../finetune/<source>/<target>``) and its run: 1 for a file of a single run's study, else
    from its ``run<r>`` folder (``in_run_folder``; a ValueError for a folder of another name)."""
    folder = Path(path).parent
    if not in_run_folder:
        return folder, 1
    match = re.fullmatch(r"run([1-9][0-9]*)", folder.name)
    if not match:
        raise ValueError(f"{path}: not in a run<r> folder")
    return folder.parent, int(match[1])


def pretrained_dataset(path: str | os.PathLike) -> str:
    """The dataset of a pre-trained model's file, ``.../pretrain/<dataset>/<file>`` or one run's
    ``.../pretrain/<dataset>/run<r>/<file>`` (config runs above 1)."""
    folder = Path(path).parent
    if re.fullmatch(r"run[1-9][0-9]*", folder.name) and folder.parent.parent.name == "pretrain":
        folder = folder.parent
    return folder.name


def read_pretrain_metrics(path: str | os.PathLike, in_run_folder: bool = False) -> pd.DataFrame:
    """``results/<network>/pretrain/<dataset>[/run<r>]/metrics.csv``, checked to be
    ``<dataset>``'s."""
    if in_run_folder:
        item_folder(path, in_run_folder)  # a ValueError outside a run<r> folder
    return read_metrics(path, dataset=pretrained_dataset(path))


def read_pair_metrics(path: str | os.PathLike, in_run_folder: bool = False) -> pd.DataFrame:
    """``results/<network>/finetune/<source>/<target>[/run<r>]/metrics.csv``, checked to be
    that pair's."""
    folder = item_folder(path, in_run_folder)[0]
    return read_metrics(path, source=folder.parent.name, target=folder.name)


def _score_numbers(row: pd.Series) -> dict[str, float]:
    """A transferability table row's numbers, checked: the scores (empty: NaN, not scored) and
    the seconds (finite, at least 0)."""
    scores = {name: _number(row[name], name) if row[name].strip() else math.nan for name in SCORES}
    seconds = _number(row["seconds"], "seconds")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise _Problem(f"seconds is {seconds}, not a finite number of at least 0")
    return {**scores, "seconds": seconds}


def read_target_scores(
    path: str | os.PathLike, target: str, sources: Sequence[str]
) -> pd.DataFrame:
    """One target's transferability table (``results/<network>/transferability/<target>.csv``,
    ``transfer.score_sources``), checked: exactly the columns ``SCORE_TABLE_COLUMNS``, one row
    per source of ``sources`` and no other, every row's target ``target``, the scores numbers
    (empty: not scored), seconds finite and not negative. InputError as ``read_metrics``."""
    try:
        cells = _cells(path)
        _exact_columns(cells, SCORE_TABLE_COLUMNS, "a transferability table")
        wrong = cells[cells["target"] != target]
        if len(wrong):
            raise _Problem(
                f"line {wrong.index[0] + 2}: target is {wrong['target'].iloc[0][:40]!r}, "
                f"expected {target!r} (from its name)"
            )
        found = cells["source"]
        if found.duplicated().any():
            raise _Problem(f"source {found[found.duplicated()].iloc[0][:40]!r} appears twice")
        missing = sorted(set(sources) - set(found))
        if missing:
            raise _Problem(f"no row for source {', '.join(missing)}")
        extra = [repr(name[:40]) for name in found if name not in set(sources)]
        if extra:
            raise _Problem(f"source {', '.join(extra)} is not scored on {target}")
        rows = []
        for line, (_, row) in enumerate(cells.iterrows(), start=2):
            try:
                rows.append({"target": target, "source": row["source"], **_score_numbers(row)})
            except _Problem as problem:
                raise _Problem(f"line {line}: {problem}") from None
    except _Problem as problem:
        raise InputError(f"{path}: {problem}; {remake_hint(path, {'target': target})}") from None
    return pd.DataFrame(rows, columns=list(SCORE_TABLE_COLUMNS))


def read_all(paths: Iterable[str], reader: Callable[[str], pd.DataFrame]) -> list[pd.DataFrame]:
    """Every file of ``paths`` read by ``reader``, all of them before any is used: InputError
    with the first damaged file's message and the other damaged files' names."""
    tables, damaged = [], []
    for path in paths:
        try:
            tables.append(reader(path))
        except InputError as error:
            damaged.append((str(path), str(error)))
    if damaged:
        (_, message), others = damaged[0], [path for path, _ in damaged[1:]]
        if others:
            shown = ", ".join(others[:3]) + (
                f" and {len(others) - 3} more" if len(others) > 3 else ""
            )
            message += f" (damaged too: {shown})"
        raise InputError(message)
    return tables


def gather_scratch(paths: Iterable[str]) -> pd.DataFrame:
    """The scratch accuracy table from every ``results/<network>/pretrain/<dataset>/metrics.csv``,
    each checked first (``read_metrics``)."""
    return scratch_table(read_all(paths, read_pretrain_metrics))


def gather_transfer(paths: Iterable[str], datasets: Sequence[str]) -> pd.DataFrame:
    """The transfer accuracy matrix from every
    ``results/<network>/finetune/<source>/<target>/metrics.csv``, each checked first
    (``read_metrics``)."""
    return transfer_matrix(read_all(paths, read_pair_metrics), datasets)


# ------------------------------------------------------------------- repeated runs, ensembles

# With config ensemble (and runs above 1): a run's class probabilities on its test set
# (``transfer.test_probabilities``), one row per test series: its true class code, then one
# column per class.
PROBABILITIES_FILE = "test_probabilities.csv"
TRUE_CLASS = "true_class"


def ensemble_predictions(probabilities: Sequence[np.ndarray]) -> np.ndarray:
    """The class codes an ensemble predicts (InceptionTime's definition): the argmax of the
    runs' mean class probabilities, equal weights (each array: test series x classes)."""
    return np.mean(np.stack(probabilities), axis=0).argmax(axis=1)


def read_probabilities(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """A run's ``test_probabilities.csv`` (``transfer.test_probabilities``), checked: its true
    class codes and its probabilities (series x classes); InputError naming a damaged file."""
    try:
        cells = _cells(path)
        if TRUE_CLASS not in cells.columns or len(cells.columns) < 3 or not len(cells):
            raise _Problem(f"not a probabilities table (a {TRUE_CLASS} column and two classes)")
        classes = [c for c in cells.columns if c != TRUE_CLASS]
        values = _numbers(cells[classes])
        true = _numbers(cells[[TRUE_CLASS]])[:, 0]
        if not np.isfinite(values).all() or (values < 0).any() or (values > 1).any():
            raise _Problem("a probability is not a number in [0, 1]")
        if (true != true.astype(int)).any() or (true < 0).any() or (true >= len(classes)).any():
            raise _Problem(f"{TRUE_CLASS} is not a class code of its {len(classes)} classes")
    except _Problem as problem:
        raise InputError(
            f"{path}: {problem}; delete it and the run's metrics.csv to have its job make them "
            "again"
        ) from None
    return true.astype(int), values


def ensemble_accuracy(paths: Sequence[str | os.PathLike]) -> float:
    """The test accuracy of the ensemble of the runs whose ``test_probabilities.csv`` are
    ``paths`` (``ensemble_predictions``); InputError when they are not of one test set."""
    read = [read_probabilities(path) for path in paths]
    true = read[0][0]
    for path, (other, values) in zip(paths, read):
        if not np.array_equal(other, true) or values.shape != read[0][1].shape:
            raise InputError(f"{path}: not the test set of {paths[0]} (other classes or series)")
    return float(np.mean(ensemble_predictions([values for _, values in read]) == true))


@dataclass(frozen=True)
class RunTables:
    """The gathered tables of repeated runs: ``table`` (today's table, the mean over the runs),
    ``runs`` (one row per item and run: its seed and test accuracy) and ``spread`` (per item:
    mean, std with ddof 1, min, max and the number of runs), both with ``ensemble_accuracy``
    where the runs saved probabilities."""

    table: pd.DataFrame
    runs: pd.DataFrame
    spread: pd.DataFrame


def _run_tables(
    paths: Iterable[str],
    identity: Sequence[str],
    reader: Callable[..., pd.DataFrame],
    runs: int,
    seed: int,
    probabilities: Sequence[str] | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The per-run rows, the spread and the per-item mean metrics of ``paths`` (every item's
    ``runs`` metrics.csv in run folders), each file checked first."""
    paths = [str(path) for path in paths]
    frames = read_all(paths, lambda path: reader(path, in_run_folder=True))
    rows = []
    for path, frame in zip(paths, frames):
        run = item_folder(path, True)[1]
        rows.append(frame.assign(run=run, seed=seed + run - 1))
    per_run = pd.concat(rows, ignore_index=True).sort_values([*identity, "run"])
    counts = per_run.groupby(list(identity))["run"].apply(sorted)
    incomplete = counts[counts.apply(lambda found: found != list(range(1, runs + 1)))]
    if len(incomplete):
        item = "/".join(incomplete.index[0] if len(identity) > 1 else [incomplete.index[0]])
        raise InputError(f"{item}: runs {incomplete.iloc[0]}, expected 1 to {runs}")
    by_item = per_run.groupby(list(identity), sort=True)
    accuracy = by_item["test_accuracy"]
    spread = pd.DataFrame(
        {
            "mean": accuracy.mean(),
            "std": accuracy.std(ddof=1),
            "min": accuracy.min(),
            "max": accuracy.max(),
            "runs": accuracy.size(),
        }
    ).reset_index()
    mean = by_item[list(METRICS_COLUMNS)].mean().reset_index()
    mean["epochs"] = by_item["epochs"].max().to_numpy()
    long = per_run[[*identity, "run", "seed", "test_accuracy"]].reset_index(drop=True)
    if probabilities:
        files: dict[tuple[str, ...], list[tuple[int, str]]] = {}
        for path in map(str, probabilities):
            folder, run = item_folder(path, True)
            key = (folder.name,) if len(identity) == 1 else (folder.parent.name, folder.name)
            files.setdefault(key, []).append((run, path))
        ensemble = {key: ensemble_accuracy([p for _, p in sorted(v)]) for key, v in files.items()}
        for frame in (long, spread):
            keys = zip(*(frame[column] for column in identity))
            frame["ensemble_accuracy"] = [ensemble.get(tuple(key), math.nan) for key in keys]
    return long, spread, mean


def gather_scratch_runs(
    paths: Iterable[str], runs: int, seed: int, probabilities: Sequence[str] | None = None
) -> RunTables:
    """The scratch tables of ``runs`` repeated runs from every
    ``results/<network>/pretrain/<dataset>/run<r>/metrics.csv`` (and with ``probabilities``, its
    test_probabilities.csv): the table of ``gather_scratch``'s format holding the mean over the
    runs (``epochs`` the runs' epochs, ``best_epoch`` their mean), the per-run and the spread
    tables."""
    long, spread, mean = _run_tables(
        paths, PRETRAIN_IDENTITY, read_pretrain_metrics, runs, seed, probabilities
    )
    return RunTables(scratch_table([mean]), long, spread)


def gather_transfer_runs(
    paths: Iterable[str],
    datasets: Sequence[str],
    runs: int,
    seed: int,
    probabilities: Sequence[str] | None = None,
) -> RunTables:
    """The transfer tables of ``runs`` repeated runs from every
    ``results/<network>/finetune/<source>/<target>/run<r>/metrics.csv``: the matrix of
    ``gather_transfer``'s format holding each pair's mean test accuracy, the per-run and the
    spread tables (rows by target, then source)."""
    long, spread, mean = _run_tables(
        paths, PAIR_IDENTITY, read_pair_metrics, runs, seed, probabilities
    )
    order = ["target", "source"]
    long = long.sort_values([*order, "run"]).reset_index(drop=True)
    spread = spread.sort_values(order).reset_index(drop=True)
    return RunTables(transfer_matrix([mean], datasets), long, spread)


def gather_scores(paths: Sequence[str]) -> pd.DataFrame:
    """Every target's transferability table (``results/<network>/transferability/<target>.csv``,
    one per dataset of the study) in one, each checked first: its rows are every other dataset."""
    names = [Path(path).stem for path in paths]

    def read(path: str) -> pd.DataFrame:
        target = Path(path).stem
        return read_target_scores(path, target, sources_for(target, names))

    tables = read_all(paths, read)
    if not tables:
        return pd.DataFrame(columns=list(SCORE_TABLE_COLUMNS))
    return pd.concat(tables, ignore_index=True)[list(SCORE_TABLE_COLUMNS)]


# Every finished training and prototypes job's record, kept with the study (never cleared):
# the sha256 of its inputs, of its params and of the run's result settings, and of each output
# as the job wrote it. A damaged output is one that no longer has its recorded sha256; an export
# (the model zoo) checks each file against it; and a job re-run only because an upstream job
# made its inputs again (identical) keeps its outputs.
STUDY_RECORDS = Path("results/records")


def job_key(rule: str, wildcards: dict[str, str]) -> str:
    """``<rule>/<wildcard>=<value>,...`` (``<rule>/job`` without wildcards): a job's record name."""
    return f"{rule}/" + (",".join(f"{k}={v}" for k, v in sorted(wildcards.items())) or "job")


def recorded_outputs(
    results: str | os.PathLike = "results", rules: tuple[str, ...] | None = None
) -> dict[Path, str]:
    """Every output a finished job (of ``rules``, default all) recorded in the study folder
    ``results`` (its records under ``<results>/records``), as the path under ``results`` -> the
    sha256 it had when written; unreadable records are left out."""
    results = Path(results)
    recorded: dict[Path, str] = {}
    folders = [results / "records" / rule for rule in rules] if rules else [results / "records"]
    records = [
        path for folder in folders for path in folder.glob("*.json" if rules else "*/*.json")
    ]
    for path in sorted(records):
        try:
            record = json.loads(path.read_text())
            for output, digest in record["outputs"].items():
                parts = Path(output).parts
                recorded[
                    results.joinpath(*parts[1:]) if parts[0] == "results" else Path(output)
                ] = digest
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            continue
    return recorded
