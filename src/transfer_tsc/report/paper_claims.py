"""The paper's claims (its abstract and section V), each recomputed from a study's three tables.

A claim (``CLAIMS``) is a number the paper states; its ``check`` recomputes it from one set of
results (``published.Results``: scratch, transfer, neighbours; the paper's published ones, or a
run's restricted to the paper's datasets, ``restrict``) with the functions of ``analysis``, and
says whether the data give the paper's number (``Finding.holds``):

* ``abstract``: "an improvement in accuracy on 71 out of 85 datasets": per target, the
  fine-tuned accuracy with its DTW-nearest source (``analysis.dtw_vs_random``'s nearest) against
  training from scratch: wins / ties / losses (``analysis.outcome``) and the two-sided Wilcoxon
  signed-rank p-value (``analysis.wilcoxon_p``);
* ``fig4_handoutlines`` (V-A): HandOutlines 74.6 % from scratch, 86.5 % from MedicalImages,
  a variation of about +16 % (``analysis.accuracy_variation``);
* ``fig5_always`` (V-B, Fig. 5): *always* a source below training from scratch (the minimum over
  sources) and *always* one above it (the maximum; ``analysis.aggregates``);
* ``oliveoil`` (V-B): OliveOil 93.3 % from MALLAT, 16.7 % from FaceFour;
* ``fig6`` (V-C, Fig. 6): the DTW-nearest source against the mean of ``draws`` random sources
  (``analysis.dtw_vs_random``, seeded per target by ``analysis.target_seed``): 71 / 0 / 14
  wins / ties / losses, Wilcoxon p < 1e-7;
* ``second_nn_diatom``, ``second_nn_wine`` (V-C, Fig. 6's "2nd NN"): the second-nearest source
  raises DiatomSizeReduction from 3.3 % to 46.7 % and Wine from 51.9 % to 77.8 %;
* ``shapeletsim_top3`` (V-D, Fig. 7): ShapeletSim's three nearest sources average 93 %, against
  76 % from scratch (``analysis.rank_curves``);
* ``handoutlines_gap`` (V-D, Fig. 8): 10 points more for HandOutlines fine-tuned from its most
  than from its least similar source (the first and last rank with a result; also on the curve
  smoothed over ``smoothing`` ranks, as the paper draws it);
* ``meat_top3`` (V-D, Fig. 9): Meat near 95 % for its three nearest sources.

When a claim holds. A percentage the paper states to one decimal holds within 0.05 points
(``DECIMAL``: 93.3 % for 0.9333), one it states as a whole number or as "near" / "almost" within
1 point (``NEAR``), a count exactly and a p-value bound as stated. Counts over targets are the
paper's when they are over its 85 datasets: on fewer (a run of part of the archive) a count claim
is not decided (``holds`` None), unless a target refutes an "always". A claim whose datasets or
pairs the results lack is not computed (``Finding.value`` empty, the reason in ``note``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from transfer_tsc.report import analysis
from transfer_tsc.report.published import Results, restrict_neighbours

PAPER_DATASETS = 85
# How close a number must come to the paper's (accuracy, 0-1) to hold (module docstring).
DECIMAL = 0.0005 + 1e-9
NEAR = 0.01 + 1e-9

CLAIM_COLUMNS = (
    "claim",
    "section",
    "paper",
    "published",
    "published_holds",
    "published_note",
    "this_run",
    "this_run_holds",
    "this_run_note",
)


class Missing(Exception):
    """The results lack what a claim needs (the message says what)."""


@dataclass(frozen=True)
class Options:
    """How the claims are computed: Fig. 6's random draws and seed (config
    ``analysis.random_draws``, ``seed``), the rank curves' smoothing (``analysis.
    rank_curve_smoothing``) and the datasets' labels in the text (``analysis.name_labels``)."""

    draws: int = 1000
    seed: int = 0
    smoothing: int = 5
    labels: Mapping[str, str] = field(default_factory=dict)

    def name(self, dataset: str) -> str:
        return self.labels.get(dataset, dataset)


@dataclass(frozen=True)
class Finding:
    """A claim on one set of results: ``value``, what the data give (empty when they cannot);
    ``holds``, whether that is the paper's number (None: not decided); ``note``, the detail or why
    nothing was computed; ``numbers``, the values behind the text (accuracies as fractions)."""

    value: str
    holds: bool | None
    note: str = ""
    numbers: Mapping[str, object] = field(default_factory=dict)


class Analyses:
    """The analyses the claims read, each computed once from ``results``."""

    def __init__(self, results: Results, options: Options) -> None:
        self.results = results
        self.options = options

    @cached_property
    def dtw(self) -> pd.DataFrame:
        o = self.options
        return analysis.dtw_vs_random(
            self.results.transfer, self.results.neighbours, draws=o.draws, seed=o.seed
        )

    @cached_property
    def curves(self) -> pd.DataFrame:
        r = self.results
        targets = [t for t in analysis.PAPER_RANK_CURVE_TARGETS if t in r.scratch.index]
        neighbours = r.neighbours[r.neighbours["target"].isin(targets)]
        return analysis.rank_curves(r.transfer, neighbours, r.scratch, self.options.smoothing)

    @cached_property
    def aggregates(self) -> pd.DataFrame:
        r = self.results
        targets = [t for t in r.transfer.columns if t in r.scratch.index]
        return analysis.aggregates(r.transfer[targets], r.scratch)

    # what the checks share

    def accuracy(self, source: str, target: str) -> float:
        """The fine-tuned accuracy of ``source -> target``; ``Missing`` when not run."""
        transfer = self.results.transfer
        self.has(target)
        self.has(source)
        ran = source in transfer.index and target in transfer.columns
        value = transfer.at[source, target] if ran else np.nan
        if pd.isna(value):
            n = self.options.name
            raise Missing(f"{n(source)} -> {n(target)} not run")
        return float(value)

    def has(self, dataset: str) -> None:
        """``Missing`` when ``dataset`` is nowhere in the results."""
        if dataset not in self.results.names():
            raise Missing(f"no {self.options.name(dataset)} in the results")

    def scratch(self, dataset: str) -> float:
        self.has(dataset)
        if dataset not in self.results.scratch.index:
            raise Missing(f"no from-scratch accuracy of {self.options.name(dataset)}")
        return float(self.results.scratch[dataset])

    def compared(self) -> pd.DataFrame:
        """Fig. 6's compared targets (their DTW-nearest source has a result)."""
        rows = analysis.compared_targets(self.dtw)
        if not len(rows):
            raise Missing("no target with a fine-tuned DTW-nearest source")
        return rows

    def target_row(self, target: str) -> pd.Series:
        """Fig. 6's row of ``target``, with a second-nearest source."""
        self.has(target)
        rows = self.dtw[self.dtw["target"] == target]
        if not len(rows) or pd.isna(rows.iloc[0]["second_accuracy"]):
            raise Missing(f"{self.options.name(target)}: fewer than 2 ranked sources were run")
        return rows.iloc[0]

    def curve(self, target: str, least: int = 1) -> pd.DataFrame:
        """``target``'s rank curve over the sources that were run (rank order); ``Missing``
        with fewer than ``least``."""
        self.has(target)
        rows = self.curves[(self.curves["target"] == target) & self.curves["accuracy"].notna()]
        if len(rows) < least:
            raise Missing(
                f"{self.options.name(target)}: {len(rows)} ranked sources run, {least} needed"
            )
        return rows.sort_values("rank")


# --------------------------------------------------------------------------- formatting


def pct(value: float) -> str:
    """An accuracy (0-1) as the paper writes it: ``93.3 %``."""
    return f"{100 * value:.1f} %"


def p_text(p: float) -> str:
    return "n/a (no difference)" if not np.isfinite(p) else f"{p:.2g}"


def near(value: float, stated: float, tolerance: float) -> bool:
    """Whether ``value`` gives the paper's ``stated`` accuracy within ``tolerance``."""
    return bool(abs(value - stated) <= tolerance)


def _counts(outcomes: Iterable[str]) -> tuple[int, int, int]:
    values = list(outcomes)
    return values.count("win"), values.count("tie"), values.count("loss")


def _on_paper_datasets(n: int, holds: bool) -> bool | None:
    """A count claim over targets: decided on the paper's 85 only."""
    return holds if n == PAPER_DATASETS else None


def _of_paper(n: int) -> str:
    return "" if n == PAPER_DATASETS else f"over {n} of the paper's {PAPER_DATASETS} targets"


# --------------------------------------------------------------------------- the claims


def abstract(a: Analyses) -> Finding:
    rows = a.compared()
    scratch = a.results.scratch.reindex(rows["target"]).to_numpy(dtype=float)
    keep = ~np.isnan(scratch)
    rows, scratch = rows[keep], scratch[keep]
    wins, ties, losses = _counts(
        analysis.outcome(d, s) for d, s in zip(rows["dtw_accuracy"], scratch)
    )
    n = len(rows)
    p = analysis.wilcoxon_p(rows["dtw_accuracy"], scratch)
    fig6 = analysis.dtw_summary(a.dtw)
    note = (
        f"the DTW-nearest source's fine-tuned accuracy against training from scratch: "
        f"{wins} / {ties} / {losses} wins / ties / losses, Wilcoxon p = {p_text(p)}; against a "
        f"random source (Fig. 6) it wins {int(fig6['wins'])}: the paper's 71 are Fig. 6's wins "
        f"against random"
    )
    return Finding(
        f"{wins} of {n} datasets improved",
        _on_paper_datasets(n, wins == 71),
        "; ".join(filter(None, [note, _of_paper(n)])),
        {"wins": wins, "ties": ties, "losses": losses, "n": n, "wilcoxon_p": p},
    )


def fig4_handoutlines(a: Analyses) -> Finding:
    scratch = a.scratch("HandOutlines")
    tuned = a.accuracy("MedicalImages", "HandOutlines")
    variation = 100 * (tuned - scratch) / scratch
    return Finding(
        f"{pct(scratch)} from scratch, {pct(tuned)} from {a.options.name('MedicalImages')}: "
        f"{variation:+.1f} %",
        near(scratch, 0.746, DECIMAL) and near(tuned, 0.865, DECIMAL) and round(variation) == 16,
        "",
        {"scratch": scratch, "transfer": tuned, "variation": variation},
    )


def fig5_always(a: Analyses) -> Finding:
    table = a.aggregates[a.aggregates["n_sources"] > 0]
    if not len(table):
        raise Missing("no target with a fine-tuned source")
    tol = analysis.TIE_TOLERANCE
    worse = table["min_accuracy"] < table["scratch_accuracy"] - tol
    better = table["max_accuracy"] > table["scratch_accuracy"] + tol
    n = len(table)
    never = table[~better]
    notes = []
    if len(never):
        perfect = bool((never["scratch_accuracy"] >= 1 - tol).all())
        notes.append(
            "no better source for "
            + ", ".join(a.options.name(t) for t in never["target"])
            + (" (all 100 % from scratch)" if perfect else "")
        )
    if (~worse).any():
        notes.append(
            "no worse source for " + ", ".join(a.options.name(t) for t in table["target"][~worse])
        )
    always = bool(worse.all() and better.all())
    notes.append(_of_paper(n))
    return Finding(
        f"a worse source for {int(worse.sum())} of {n} targets, a better one for "
        f"{int(better.sum())}",
        False if not always else _on_paper_datasets(n, True),
        "; ".join(filter(None, notes)),
        {"worse": int(worse.sum()), "better": int(better.sum()), "n": n},
    )


def oliveoil(a: Analyses) -> Finding:
    high = a.accuracy("Mallat", "OliveOil")
    low = a.accuracy("FaceFour", "OliveOil")
    column = a.results.transfer["OliveOil"].dropna()
    top = sorted(column.index[np.isclose(column, column.max(), rtol=0, atol=1e-9)])
    bottom = sorted(column.index[np.isclose(column, column.min(), rtol=0, atol=1e-9)])
    n = a.options.name
    note = (
        f"over its {len(column)} sources the highest is {pct(column.max())} "
        f"({', '.join(map(n, top))}), the lowest {pct(column.min())} "
        f"({', '.join(map(n, bottom))}); from scratch {pct(a.scratch('OliveOil'))}"
    )
    return Finding(
        f"from {n('Mallat')} {pct(high)}, from {n('FaceFour')} {pct(low)}",
        near(high, 0.933, DECIMAL) and near(low, 0.167, DECIMAL),
        note,
        {"mallat": high, "facefour": low, "max": float(column.max()), "min": float(column.min())},
    )


def fig6(a: Analyses) -> Finding:
    a.compared()
    s = analysis.dtw_summary(a.dtw)
    wins, ties, losses, n = (int(s[k]) for k in ("wins", "ties", "losses", "n_targets"))
    p = float(s["wilcoxon_p"])
    o = a.options
    note = (
        f"random: the mean of {o.draws} draws per target (seed {o.seed}); mean accuracy "
        f"DTW-nearest {pct(s['dtw_accuracy'])}, random {pct(s['random_accuracy'])}"
    )
    return Finding(
        f"{wins} / {ties} / {losses}, p = {p_text(p)}",
        _on_paper_datasets(n, (wins, ties, losses) == (71, 0, 14) and p < 1e-7),
        "; ".join(filter(None, [note, _of_paper(n)])),
        {"wins": wins, "ties": ties, "losses": losses, "n": n, "wilcoxon_p": p},
    )


def _second_nn(target: str, first: float, second: float) -> Callable[[Analyses], Finding]:
    def check(a: Analyses) -> Finding:
        row = a.target_row(target)
        n = a.options.name
        nearest, next_ = float(row["dtw_accuracy"]), float(row["second_accuracy"])
        return Finding(
            f"{pct(nearest)} -> {pct(next_)}",
            near(nearest, first, DECIMAL) and near(next_, second, DECIMAL),
            f"nearest {n(row['nearest_source'])} (rank {int(row['nearest_rank'])}), second "
            f"{n(row['second_source'])} (rank {int(row['second_rank'])})",
            {
                "nearest": nearest,
                "second": next_,
                "nearest_source": row["nearest_source"],
                "second_source": row["second_source"],
            },
        )

    check.__name__ = f"second_nn_{target}"
    return check


def _named(a: Analyses, curve: pd.DataFrame, paper: Mapping[int, str]) -> str:
    """Whether the sources at the paper's ranks are the ones it names."""
    n = a.options.name
    ranks = curve.set_index("rank")["source"]
    parts = []
    for rank, source in paper.items():
        found = ranks.get(rank)
        same = "as the paper" if found == source else f"the paper: {n(source)}"
        parts.append(f"rank {rank} {n(found) if found is not None else 'not run'} ({same})")
    return ", ".join(parts)


def _top3(target: str, stated: float, scratch_stated: float | None, paper: Mapping[int, str]):
    def check(a: Analyses) -> Finding:
        curve = a.curve(target, least=3)
        top = curve.head(3)
        mean = float(top["accuracy"].mean())
        scratch = a.scratch(target)
        holds = near(mean, stated, NEAR)
        if scratch_stated is not None:
            holds = holds and near(scratch, scratch_stated, NEAR)
        n = a.options.name
        each = ", ".join(f"{n(s)} {pct(v)}" for s, v in zip(top["source"], top["accuracy"]))
        return Finding(
            f"top 3 mean {pct(mean)}, from scratch {pct(scratch)}",
            holds,
            f"{each}; {_named(a, curve, paper)}",
            {"mean": mean, "scratch": scratch, "top3": top["accuracy"].tolist()},
        )

    check.__name__ = f"top3_{target}"
    return check


def handoutlines_gap(a: Analyses) -> Finding:
    curve = a.curve("HandOutlines", least=2)
    first, last = curve.iloc[0], curve.iloc[-1]
    gap = float(first["accuracy"] - last["accuracy"])
    smooth = float(first["accuracy_smoothed"] - last["accuracy_smoothed"])
    n = a.options.name
    k = a.options.smoothing
    return Finding(
        f"nearest {pct(first['accuracy'])}, farthest {pct(last['accuracy'])}: "
        f"{100 * gap:+.1f} points",
        near(gap, 0.10, NEAR) or near(smooth, 0.10, NEAR),  # the most similar source ahead
        f"nearest {n(first['source'])} (rank {int(first['rank'])}), farthest "
        f"{n(last['source'])} (rank {int(last['rank'])}); smoothed over {k} ranks "
        f"{pct(first['accuracy_smoothed'])} and {pct(last['accuracy_smoothed'])} "
        f"({100 * smooth:+.1f} points); {_named(a, curve, {1: 'FiftyWords', 2: 'WordSynonyms'})}",
        {
            "nearest": float(first["accuracy"]),
            "farthest": float(last["accuracy"]),
            "gap": gap,
            "smoothed_gap": smooth,
        },
    )


@dataclass(frozen=True)
class Claim:
    """One claim: its ``name``, where the paper makes it, its words (``paper``) and the
    ``check`` that recomputes it."""

    name: str
    section: str
    paper: str
    check: Callable[[Analyses], Finding]


CLAIMS = (
    Claim(
        "abstract",
        "abstract",
        '"leading to an improvement in accuracy on 71 out of 85 datasets"',
        abstract,
    ),
    Claim(
        "fig4_handoutlines",
        "V-A, Fig. 4",
        "HandOutlines: 74.6 % from scratch, 86.5 % fine-tuned from MedicalImages, "
        '"100 x (86.5 - 74.6) / 74.6 ~ +16 %"',
        fig4_handoutlines,
    ),
    Claim(
        "fig5_always",
        "V-B, Fig. 5",
        'one can "always" find a source that decreases the accuracy (minimum) and "always" one '
        "that increases it (maximum)",
        fig5_always,
    ),
    Claim(
        "oliveoil",
        "V-B",
        'OliveOil: "the accuracy decreased from 93.3 % to 16.7 % when choosing respectively '
        'MALLAT and FaceFour as source datasets"',
        oliveoil,
    ),
    Claim(
        "fig6",
        "V-C, Fig. 6",
        'DTW-nearest vs random source (1000 draws): "wins, ties and loses on 71, 0 and 14 '
        'datasets", Wilcoxon signed-rank p < 1e-7',
        fig6,
    ),
    Claim(
        "second_nn_diatom",
        "V-C, Fig. 6",
        'the second nearest neighbour raises DiatomSizeReduction "from 3.3 % to 46.7 %"',
        _second_nn("DiatomSizeReduction", 0.033, 0.467),
    ),
    Claim(
        "second_nn_wine",
        "V-C, Fig. 6",
        'the second nearest neighbour raises Wine "from 51.9 % to 77.8 %"',
        _second_nn("Wine", 0.519, 0.778),
    ),
    Claim(
        "shapeletsim_top3",
        "V-D, Fig. 7",
        'ShapeletSim: "the average accuracy for the top 3 neighbors reaches 93 % compared to the '
        'original accuracy of 76 %"; nearest RefrigerationDevices',
        _top3("ShapeletSim", 0.93, 0.76, {1: "RefrigerationDevices"}),
    ),
    Claim(
        "handoutlines_gap",
        "V-D, Fig. 8",
        'HandOutlines: "a huge difference (10 %)" between the most and the least similar source; '
        "the two most similar 50words and WordsSynonyms",
        handoutlines_gap,
    ),
    Claim(
        "meat_top3",
        "V-D, Fig. 9",
        'Meat: "the accuracy reaches almost 95 % for the top 3 closest datasets"; top 1 to 3 '
        "Strawberry, 50words, Beef",
        _top3("Meat", 0.95, None, {1: "Strawberry", 2: "FiftyWords", 3: "Beef"}),
    ),
)


# --------------------------------------------------------------------------- evaluation


def evaluate(results: Results, options: Options = Options()) -> dict[str, Finding]:
    """Each claim of ``CLAIMS`` on ``results``, by name; a claim the results cannot give is a
    ``Finding`` with an empty value and the reason."""
    analyses = Analyses(results, options)
    findings = {}
    for claim in CLAIMS:
        try:
            findings[claim.name] = claim.check(analyses)
        except Missing as why:
            findings[claim.name] = Finding("", None, str(why))
    return findings


def restrict(results: Results, names: Iterable[str]) -> Results:
    """``results`` on the datasets ``names`` only (the paper's datasets a run has): the transfer
    matrix's rows and columns, the scratch accuracies and the neighbour ranks (re-ranked 1, 2,
    ... among ``names``)."""
    names = sorted(set(names))
    transfer = results.transfer.reindex(
        index=[n for n in names if n in results.transfer.index],
        columns=[n for n in names if n in results.transfer.columns],
    )
    transfer.index.name = "source"
    scratch = results.scratch[results.scratch.index.isin(names)]
    return Results(scratch, transfer, restrict_neighbours(results.neighbours, names))


def _holds(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "no"


def claims_table(
    paper: Results,
    run: Results | None = None,
    run_note: str = "",
    options: Options = Options(),
) -> pd.DataFrame:
    """One row per claim (``CLAIM_COLUMNS``): the paper's words, what the published results
    give, and what ``run`` gives (``run_note`` says why there is no run, or adds to each of its
    notes, e.g. how many of the paper's datasets it has)."""
    published = evaluate(paper, options)
    ours = evaluate(run, options) if run is not None else {}
    rows = []
    for claim in CLAIMS:
        p = published[claim.name]
        row = {
            "claim": claim.name,
            "section": claim.section,
            "paper": claim.paper,
            "published": p.value,
            "published_holds": _holds(p.holds),
            "published_note": p.note,
            "this_run": "",
            "this_run_holds": "",
            "this_run_note": run_note,
        }
        if claim.name in ours:
            r = ours[claim.name]
            row.update(
                this_run=r.value,
                this_run_holds=_holds(r.holds),
                this_run_note="; ".join(filter(None, [r.note, run_note])),
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
