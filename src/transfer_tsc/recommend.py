"""Which pre-trained source to transfer to a new dataset (paper sections III-C and V-C).

The paper's practical result: the source dataset nearest to the target by its inter-datasets
similarity is usually a good source for fine-tuning (Fig. 6, DTW-nearest beats a random source
on 71 of 85 targets). For a user's own dataset ``T`` and the datasets ``S`` of a (possibly
partial) study or model zoo:

1. ``T``'s class prototypes are computed exactly as the study computed its own (Algorithm 1,
   lines 1-7: per-class DBA from the medoid, on the TRAIN split; the DBA iterations, the DTW
   window and the data options are read from the study's prototype files, so the distances
   are in the same units);
2. ``D(T, S) = min over t in prototypes(T), s in prototypes(S) of DTW(t, s)`` (lines 8-22,
   ``similarity.dataset_distances``), and the sources are ranked nearest first (ties by name,
   ``similarity.nearest_first``);
3. optionally the top ``k`` pre-trained sources are fine-tuned on ``T``'s train set (section
   III-B) and their test accuracy is reported next to the FCN trained from scratch on ``T``.

Beyond the paper, the sources that have a pre-trained model can also be ranked by a model-based
transferability score (``transferability``: LEEP, NCE, LogME, H-score, higher is better) of one
forward pass of ``T``'s train split through each model (``transfer.score_sources``).
``add_scores`` adds every score and its rank among the scored sources to the DTW ranking,
``order_by`` orders the table by one of ``RANKINGS`` (sources without a model last) and
``picks`` says which source each ranking would choose. ``recommendation`` runs the steps after
the ranking (scores, order, top k, fine-tuning) for the ``transfer-tsc recommend`` command and
the workflow's rule ``recommend`` alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transfer_tsc.data import ZNORMALISE_AUTO, Dataset
from transfer_tsc.errors import InputError
from transfer_tsc.io import open_hdf5
from transfer_tsc.networks import PAPER_NETWORK, network
from transfer_tsc.similarity import distances as similarity
from transfer_tsc.similarity import dtw
from transfer_tsc.similarity import prototypes as protos
from transfer_tsc.training.backend import import_keras_quietly
from transfer_tsc.training.recipe import Recipe
from transfer_tsc.transferability import SCORES
from transfer_tsc.zoo import Reference

#: the ways of ranking the sources: the paper's DTW distance (nearest first), then the
#: transferability scores (highest first)
RANKINGS = ("dtw", *SCORES)

# data options a study may record in its prototype files (write_prototypes(**settings)), and
# their values when it does not (the pipeline's defaults)
DATA_OPTIONS = {"znormalise": ZNORMALISE_AUTO, "fill_missing": False}


@dataclass(frozen=True)
class PrototypeSettings:
    """How the study computed its prototypes: a new dataset's must be computed the same way."""

    window: float | None
    iterations: int
    data: Mapping[str, bool | str]


def _option(value) -> bool | str:
    """A data option as an HDF5 attribute holds it: a boolean, or text ("auto")."""
    if isinstance(value, bytes):
        value = value.decode()
    return value if isinstance(value, str) else bool(value)


def _settings_of(path) -> PrototypeSettings:
    with open_hdf5(path) as f:
        try:
            window = json.loads(f.attrs["window"])
            iterations = int(f.attrs["dba_iterations"])
        except (KeyError, ValueError, TypeError) as error:
            raise InputError(
                f"{path}: not a prototypes file (missing or bad attribute {error})"
            ) from None
        data = {key: _option(f.attrs[key]) for key in DATA_OPTIONS if key in f.attrs}
    return PrototypeSettings(window, iterations, data)


def study_settings(paths: Sequence) -> PrototypeSettings:
    """The prototype settings shared by every file in ``paths``; files that disagree (a study
    run with two configs) are refused by name, since their distances are not comparable."""
    if not paths:
        raise InputError("the study has no prototype files yet (results/prototypes/*.h5)")
    first = _settings_of(paths[0])
    for path in paths[1:]:
        other = _settings_of(path)
        if other != first:
            raise InputError(
                f"{path}: prototypes made with window {other.window}, {other.iterations} DBA "
                f"iterations, data options {dict(other.data)}, but {paths[0]} with window "
                f"{first.window}, {first.iterations}, {dict(first.data)}: a study's prototypes "
                "must share their settings"
            )
    return first


def rank_sources(
    target: Sequence[np.ndarray],
    sources: Mapping[str, Sequence[np.ndarray]],
    window: float | None,
) -> pd.DataFrame:
    """Every source ranked by its distance to ``target``'s prototypes (Algorithm 1,
    ``similarity.dataset_distances``), nearest first, ties by name (``similarity.nearest_first``,
    as ``similarity.neighbours``). Columns ``rank, source, distance``."""
    distances = similarity.dataset_distances(target, sources, window)
    ranked = similarity.nearest_first(distances)
    return pd.DataFrame(
        [(rank, name, value) for rank, (name, value) in enumerate(ranked, start=1)],
        columns=["rank", "source", "distance"],
    )


def target_prototypes(
    dataset: Dataset, settings: PrototypeSettings, log: Callable[[str], None] | None = None
) -> protos.Prototypes:
    """The new dataset's class prototypes, with the study's settings (TRAIN split only)."""
    return protos.class_prototypes(
        dataset.name,
        dataset.series("train"),
        dataset.y_train,
        dataset.classes,
        settings.window,
        settings.iterations,
        log,
    )


def rankable(references: Sequence[Reference], name: str) -> list[Reference]:
    """The references with prototypes, other than the dataset ``name`` itself."""
    usable = [r for r in references if r.prototypes is not None and r.name != name]
    if not usable:
        raise InputError(
            "no source to rank: the study or zoo has no prototypes of datasets other than "
            f"'{name}' yet (results/prototypes/*.h5)"
        )
    return usable


def recommend(
    dataset: Dataset,
    references: Sequence[Reference],
    top: int = 5,
    log: Callable[[str], None] = print,
    settings: PrototypeSettings | None = None,
) -> pd.DataFrame:
    """Rank the references that have prototypes by their DTW distance to ``dataset``; the ``top``
    nearest rows (every row when ``top`` is 0). A reference named as ``dataset`` is left out
    (a dataset is no source for itself).

    Columns: ``dataset, rank, source, distance, source_classes, source_train_size``."""
    usable = rankable(references, dataset.name)
    settings = settings or study_settings([r.prototypes for r in usable])
    log(
        f"{dataset.name}: prototypes of {dataset.n_classes} classes from {len(dataset.y_train)} "
        f"train series (window {settings.window}, {settings.iterations} DBA iterations)"
    )
    dtw.self_check(settings.window)  # DTWCheckError if dtaidistance's C code is broken
    mine = target_prototypes(dataset, settings)
    loaded = {r.name: protos.read_prototypes(r.prototypes) for r in usable}
    table = rank_sources(
        mine.prototypes, {n: p.prototypes for n, p in loaded.items()}, settings.window
    )
    if top:
        table = table.head(top)
    table.insert(0, "dataset", dataset.name)
    table["source_classes"] = [len(loaded[n].classes) for n in table["source"]]
    table["source_train_size"] = [int(loaded[n].class_size.sum()) for n in table["source"]]
    return table.reset_index(drop=True)


def _ranks(values: pd.Series, names: pd.Series, ascending: bool) -> pd.Series:
    """1, 2, ... by ``values`` (ties by name); NaN values get no rank (<NA>)."""
    frame = pd.DataFrame({"value": values, "name": names}).dropna(subset=["value"])
    order = frame.sort_values(["value", "name"], ascending=[ascending, True]).index
    ranks = pd.Series(pd.NA, index=values.index, dtype="Int64")
    ranks.loc[order] = range(1, len(order) + 1)
    return ranks


def add_scores(
    dataset: Dataset,
    ranking: pd.DataFrame,
    references: Sequence[Reference],
    log: Callable[[str], None] = print,
    network_name: str = PAPER_NETWORK,
) -> pd.DataFrame:
    """``ranking`` (``recommend``'s, every source) with, after ``distance``, ``dtw_rank`` (the
    rank by distance) and ``<score>, <score>_rank`` for each of ``SCORES``: every score of the
    sources that
    have a pre-trained model (``transfer.score_sources`` on ``dataset``'s train split) with its
    rank among them, highest first (ties by name); a source without a model gets empty scores
    and ranks. Ranks are over the rows of ``ranking``, so pass it uncut."""
    from transfer_tsc.training.transfer import score_sources

    models = {r.name: r.model for r in references if r.model is not None}
    chosen = {name: models[name] for name in ranking["source"] if name in models}
    table = ranking.copy()
    at = list(table.columns).index("distance") + 1
    table.insert(at, "dtw_rank", _ranks(table["distance"], table["source"], ascending=True))
    spec = network(network_name)
    scored = score_sources(dataset, chosen, log, spec).set_index("source") if chosen else None
    for offset, score in enumerate(SCORES):
        values = (
            table["source"].map(scored[score]).astype(float)
            if scored is not None
            else pd.Series(np.nan, index=table.index)
        )
        table.insert(at + 1 + 2 * offset, score, values)
        table.insert(
            at + 2 + 2 * offset, f"{score}_rank", _ranks(values, table["source"], ascending=False)
        )
    return table


def order_by(table: pd.DataFrame, method: str = "dtw") -> pd.DataFrame:
    """``table`` ordered by ``method`` (one of ``RANKINGS``): by ``distance``, nearest first, for
    ``dtw``; else by that score, highest first, the sources without a score after the scored
    ones, nearest first; ``rank`` renumbered 1, 2, ... in that order (ties by name, so ``rank``
    equals ``<method>_rank`` of the scored sources)."""
    if method not in RANKINGS:
        raise InputError(f"unknown ranking method '{method}' (one of {', '.join(RANKINGS)})")
    by_distance = ["distance", "source"]
    if method == "dtw":
        ordered = table.sort_values(by_distance)
    else:
        if method not in table.columns:
            raise InputError(f"the table has no '{method}' scores (no pre-trained source model)")
        unscored = table[method].isna()
        ordered = pd.concat(
            [
                table[~unscored].sort_values([method, "source"], ascending=[False, True]),
                table[unscored].sort_values(by_distance),
            ]
        )
    ordered = ordered.reset_index(drop=True)
    ordered["rank"] = range(1, len(ordered) + 1)
    return ordered


def picks(table: pd.DataFrame, method: str = "dtw") -> str:
    """One line: the source ``method`` picks from the (uncut) ``table``, what every other method
    with values would pick, and which sources had no model to score."""

    def best(name: str) -> str | None:
        if name != "dtw" and (name not in table.columns or table[name].isna().all()):
            return None
        return order_by(table, name)["source"].iloc[0]

    others = [(name, best(name)) for name in RANKINGS if name != method]
    others = [f"{name} {pick}" for name, pick in others if pick is not None]
    line = f"{method} picks {best(method)}"
    if others:
        line += (
            f" ({others[0].replace(' ', ' would pick ', 1)}{''.join(', ' + o for o in others[1:])})"
        )
    if SCORES[0] in table.columns:
        missing = sorted(table.loc[table[SCORES[0]].isna(), "source"])
        if missing:
            line += (
                f"; scores of {len(table) - len(missing)} of {len(table)} sources: no pre-trained "
                f"model (yet) for {', '.join(missing)}"
                + (f", ranked after the scored ones by {method}" if method != "dtw" else "")
            )
    return line


def transfer_to(
    dataset: Dataset,
    ranking: pd.DataFrame,
    references: Sequence[Reference],
    recipe: Recipe,
    log: Callable[[str], None] = print,
    network_name: str = PAPER_NETWORK,
) -> pd.DataFrame:
    """Fine-tune the ranked sources that have a pre-trained model (of ``network_name``) on
    ``dataset`` (all together, batched engine) and train that network from scratch on it with
    the same recipe; the ranking
    with ``transfer_accuracy``, ``scratch_accuracy`` and ``gain`` (transfer - scratch) added.
    A source without a model gets NaN."""
    from transfer_tsc.training.transfer import finetune, pretrain

    models = {r.name: r.model for r in references if r.model is not None}
    chosen = {name: models[name] for name in ranking["source"] if name in models}
    missing = [name for name in ranking["source"] if name not in models]
    if missing:
        log(f"no pre-trained model (yet) for {', '.join(missing)}: not fine-tuned")
    table = ranking.copy()
    accuracy = {}
    if chosen:
        log(f"fine-tuning {len(chosen)} source(s) on {dataset.name}, {recipe.epochs} epochs")
        outcomes = finetune(chosen, dataset, recipe, log=log, spec=network(network_name))
        accuracy = {name: outcome.test_accuracy for name, (_, outcome) in outcomes.items()}
    log(f"training from scratch on {dataset.name}, {recipe.epochs} epochs")
    _, scratch = pretrain(dataset, recipe, log=log, spec=network(network_name))
    table["transfer_accuracy"] = [accuracy.get(name, np.nan) for name in table["source"]]
    table["scratch_accuracy"] = scratch.test_accuracy
    table["gain"] = table["transfer_accuracy"] - table["scratch_accuracy"]
    return table


def recommendation(
    dataset: Dataset | None,
    ranking: pd.DataFrame,
    references: Sequence[Reference],
    method: str = "dtw",
    top: int = 0,
    scores: bool = False,
    recipe: Recipe | None = None,
    log: Callable[[str], None] = print,
    network_name: str = PAPER_NETWORK,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The steps after ``recommend``'s ranking (every source): with ``scores`` every
    transferability score added (``add_scores``), ordered by ``method`` (``order_by``), cut to
    the ``top`` rows (every row when 0) and, with a ``recipe``, those fine-tuned on ``dataset``
    (``transfer_to``; ``dataset`` is needed for scores or a recipe only); the models are
    ``network_name``'s. Returns the ordered ranking, uncut (for ``picks``), and the table."""
    if scores:
        import_keras_quietly()  # before the models: no TensorFlow start-up notices
        ranking = add_scores(dataset, ranking, references, log, network_name)
    ranking = order_by(ranking, method)
    table = ranking.head(top) if top else ranking
    if recipe is not None:
        import_keras_quietly()
        table = transfer_to(dataset, table, references, recipe, log, network_name)
    return ranking, table


def data_options(
    study_config: Mapping | None, settings: PrototypeSettings
) -> dict[str, bool | str]:
    """The data options a new dataset is read with, so that its prototypes are computed as the
    study's were: the pipeline's defaults (``DATA_OPTIONS``), then the study's config, then what
    its prototype files record."""
    return {**DATA_OPTIONS, **((study_config or {}).get("data") or {}), **settings.data}


def recommend_for(
    name: str,
    load: Callable[[dict[str, bool | str]], Dataset],
    references: Sequence[Reference],
    study_config: Mapping | None = None,
    method: str = "dtw",
    top: int = 0,
    scores: bool = True,
    recipe: Recipe | None = None,
    log: Callable[[str], None] = print,
    network_name: str = PAPER_NETWORK,
) -> tuple[Dataset, pd.DataFrame, pd.DataFrame]:
    """``transfer-tsc recommend`` from the references on, for the command and the estimator
    (``classifier``) alike: the dataset ``name`` read by ``load(data_options)`` with the study's
    data options, ranked against the ``references`` with prototypes (``recommend``, every
    source), every transferability score added when ``scores`` and a source has a model, then
    ordered by ``method``, cut to ``top`` and fine-tuned with ``recipe`` (``recommendation``).
    Returns the dataset, the ordered ranking, uncut (for ``picks``), and the table."""
    usable = rankable(references, name)
    settings = study_settings([r.prototypes for r in usable])
    dataset = load(data_options(study_config, settings))
    ranking = recommend(dataset, usable, 0, log, settings)
    with_model = [r.name for r in usable if r.model is not None]
    scores = bool(with_model) and scores
    if scores:
        log(
            f"transferability scores of the {len(with_model)} of {len(ranking)} sources with a "
            f"pre-trained model, from {dataset.name}'s train split"
        )
    elif not with_model:
        log(
            "no source has a pre-trained model (yet): ranked by DTW only, no transferability scores"
        )
    ranking, table = recommendation(
        dataset,
        ranking,
        usable,
        method,
        top,
        scores=scores,
        recipe=recipe,
        log=log,
        network_name=network_name,
    )
    return dataset, ranking, table


def format_table(table: pd.DataFrame) -> str:
    """The recommendation as a terminal table."""
    shown = table.drop(columns=["dataset"], errors="ignore")
    for column in [c for c in shown.columns if c.endswith("_rank")]:  # nullable integers
        shown[column] = [str(value) if pd.notna(value) else "-" for value in shown[column]]
    formats = {
        "distance": "{:.6g}".format,
        **{score: "{:.6g}".format for score in SCORES},
        **{c: "{:.4f}".format for c in ("transfer_accuracy", "scratch_accuracy", "gain")},
    }
    return shown.to_string(
        index=False, na_rep="-", formatters={k: v for k, v in formats.items() if k in shown}
    )
