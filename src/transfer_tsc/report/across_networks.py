"""Whether the gain of transfer is the same whatever the network (the paper's section III-A
claim that transfer is independent of the architecture), from each network's study tables.

Per network, the gain of transfer of a (target, source) pair is

    gain = finetuned accuracy(source -> target) - scratch accuracy(target)

in accuracy points as fractions (``gains``). For every pair of networks (a, b) and every target
where both have a gain for at least ``MIN_SOURCES`` common sources, ``network_agreement``
measures how alike the two networks' gains are over those sources: Spearman's rho and Kendall's
tau-b of the two gain vectors (NaN when either is constant), the fraction of sources where the
signs of the gain agree (a gain within ``TIE_TOLERANCE`` of 0 has sign 0), and the gain of the
DTW-nearest common source under each network. ``agreement_summary`` aggregates that per network
pair and ``agreement_figure`` draws gain under a against gain under b for every common pair.

Pairs not run stay out of every statistic, as in ``transfer_tsc.report.analysis``.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from transfer_tsc.errors import InputError
from transfer_tsc.report.analysis import TIE_TOLERANCE, _require, _scratch_for

# The fewest common sources a target needs for the two networks' gains to be compared.
MIN_SOURCES = 2

# The quadrant labels' background, so the diagonal does not run through them.
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5}

GAIN_COLUMNS = ("target", "source", "gain")
AGREEMENT_COLUMNS = (
    "network_a",
    "network_b",
    "target",
    "sources",
    "spearman",
    "kendall",
    "sign_agreement",
    "nearest_source",
    "nearest_gain_a",
    "nearest_gain_b",
)
SUMMARY_COLUMNS = (
    "network_a",
    "network_b",
    "targets",
    "median_spearman",
    "median_kendall",
    "mean_sign_agreement",
    "mean_nearest_gain_a",
    "mean_nearest_gain_b",
    "nearest_gains_both",
)


# --------------------------------------------------------------------------- one network


def gains(transfer: pd.DataFrame, scratch: pd.Series) -> pd.DataFrame:
    """The gain of transfer of one network, long: ``gain = transfer[source, target] -
    scratch[target]`` (accuracies as fractions) per (target, source) pair that was run, sorted
    by target and source. ``transfer`` rows source, columns target (``analysis.transfer_table``);
    ``scratch`` accuracy by dataset. A target with a result but no scratch accuracy is refused."""
    targets = [str(t) for t in transfer.columns if transfer[t].notna().any()]
    if not targets:
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c == "gain" else object) for c in GAIN_COLUMNS}
        )
    base = _scratch_for(targets, scratch)
    long = (
        transfer[targets]
        .rename_axis(index="source", columns=None)
        .reset_index()
        .melt(id_vars="source", var_name="target", value_name="accuracy")
        .dropna(subset=["accuracy"])
    )
    long["source"] = long["source"].astype(str)
    long["gain"] = long["accuracy"].astype(float) - long["target"].map(base).astype(float)
    long = long[long["source"] != long["target"]]
    return long[list(GAIN_COLUMNS)].sort_values(["target", "source"]).reset_index(drop=True)


# --------------------------------------------------------------------------- pairs of networks


def _networks(gains_by_network: dict[str, pd.DataFrame]) -> list[str]:
    """The networks' names, sorted, each gain table checked; fewer than two refused."""
    if len(gains_by_network) < 2:
        raise InputError(
            f"across-networks analysis: needs at least two networks, got {len(gains_by_network)}"
            f" ({', '.join(map(str, gains_by_network)) or 'none'})"
        )
    for name, table in gains_by_network.items():
        label = f"gains of network {name}"
        _require(table, GAIN_COLUMNS, label)
        if table.duplicated(["target", "source"]).any():
            row = table[table.duplicated(["target", "source"])].iloc[0]
            raise InputError(f"{label}: pair {row['source']} -> {row['target']} appears twice")
    return sorted(map(str, gains_by_network))


def _common(gains_by_network: dict[str, pd.DataFrame], a: str, b: str) -> pd.DataFrame:
    """(target, source, gain_a, gain_b) for the pairs with a gain under both networks; two
    networks without a target in common are refused."""
    columns = ["target", "source", "gain"]
    table_a, table_b = (
        gains_by_network[n][columns].dropna(subset=["gain"]).astype({"target": str, "source": str})
        for n in (a, b)
    )
    common = table_a.merge(table_b, on=["target", "source"], suffixes=("_a", "_b"))
    if common.empty:
        raise InputError(
            f"across-networks analysis: networks {a} and {b} have no target in common "
            f"(no (target, source) pair with a gain under both)"
        )
    return common.sort_values(["target", "source"]).reset_index(drop=True)


def _pairs(names: list[str]) -> list[tuple[str, str]]:
    return list(itertools.combinations(names, 2))


def _sign(values: np.ndarray) -> np.ndarray:
    """-1, 0 or 1; a value within ``TIE_TOLERANCE`` of 0 is 0."""
    return np.where(np.abs(values) <= TIE_TOLERANCE, 0, np.sign(values)).astype(int)


def _constant(values: np.ndarray) -> bool:
    return bool(np.ptp(values) <= TIE_TOLERANCE)


def rank_correlations(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman's rho and Kendall's tau-b of ``x`` and ``y`` (scipy; tied values share their
    average rank); (NaN, NaN) when either side is constant (all within ``TIE_TOLERANCE``)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or _constant(x) or _constant(y):
        return float("nan"), float("nan")
    from scipy import stats  # imported when used: Snakemake imports this module

    return float(stats.spearmanr(x, y)[0]), float(stats.kendalltau(x, y)[0])


def _comparable(common: pd.DataFrame):
    """(target, its rows) for the targets with at least ``MIN_SOURCES`` common sources."""
    for target, rows in common.groupby("target", sort=True):
        if len(rows) >= MIN_SOURCES:
            yield str(target), rows


def network_agreement(
    gains_by_network: dict[str, pd.DataFrame], neighbours: pd.DataFrame
) -> pd.DataFrame:
    """Per pair of networks (a < b by name) and per target with gains under both for at least
    ``MIN_SOURCES`` common sources S: ``sources`` = |S|; ``spearman``, ``kendall`` = the rank
    correlations of (gain_a(s), gain_b(s)) over s in S (NaN when either side is constant);
    ``sign_agreement`` = |{s in S : sign(gain_a(s)) = sign(gain_b(s))}| / |S| (|gain| <=
    ``TIE_TOLERANCE`` has sign 0); ``nearest_source`` = the s in S of smallest DTW rank in
    ``neighbours`` (None when it ranks none of them) and ``nearest_gain_a``, ``nearest_gain_b``
    its gain under each network. Targets with fewer common sources are left out; two networks
    without any target in common, or fewer than two networks, are refused."""
    names = _networks(gains_by_network)
    _require(neighbours, ["target", "rank", "source"], "neighbour table")
    ranked = {
        str(target): rows.sort_values("rank")["source"].astype(str).tolist()
        for target, rows in neighbours.groupby("target", sort=False)
    }
    records = []
    for a, b in _pairs(names):
        for target, rows in _comparable(_common(gains_by_network, a, b)):
            gain_a = rows["gain_a"].to_numpy(dtype=float)
            gain_b = rows["gain_b"].to_numpy(dtype=float)
            spearman, kendall = rank_correlations(gain_a, gain_b)
            by_source = rows.set_index("source")
            nearest = next((s for s in ranked.get(target, []) if s in by_source.index), None)
            records.append(
                {
                    "network_a": a,
                    "network_b": b,
                    "target": target,
                    "sources": len(rows),
                    "spearman": spearman,
                    "kendall": kendall,
                    "sign_agreement": float(np.mean(_sign(gain_a) == _sign(gain_b))),
                    "nearest_source": nearest,
                    "nearest_gain_a": (
                        float(by_source.loc[nearest, "gain_a"]) if nearest else np.nan
                    ),
                    "nearest_gain_b": (
                        float(by_source.loc[nearest, "gain_b"]) if nearest else np.nan
                    ),
                }
            )
    table = pd.DataFrame(records, columns=list(AGREEMENT_COLUMNS))
    table["sources"] = table["sources"].astype(int)
    return table


def agreement_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per network pair of a ``network_agreement`` table: ``targets`` compared; the median
    Spearman and Kendall correlations over the targets where they are defined; the mean sign
    agreement; the mean gain of the DTW-nearest source under a and under b; and
    ``nearest_gains_both`` = the fraction of targets with a nearest source where it gains
    (> ``TIE_TOLERANCE``) under both networks (NaN when no target has one)."""
    _require(table, AGREEMENT_COLUMNS, "network agreement table")
    records = []
    for (a, b), rows in table.groupby(["network_a", "network_b"], sort=True):
        nearest = rows[rows["nearest_source"].notna()]
        both = (nearest["nearest_gain_a"] > TIE_TOLERANCE) & (
            nearest["nearest_gain_b"] > TIE_TOLERANCE
        )
        records.append(
            {
                "network_a": a,
                "network_b": b,
                "targets": len(rows),
                "median_spearman": rows["spearman"].median(),
                "median_kendall": rows["kendall"].median(),
                "mean_sign_agreement": rows["sign_agreement"].mean(),
                "mean_nearest_gain_a": nearest["nearest_gain_a"].mean(),
                "mean_nearest_gain_b": nearest["nearest_gain_b"].mean(),
                "nearest_gains_both": float(both.mean()) if len(nearest) else np.nan,
            }
        )
    return pd.DataFrame(records, columns=list(SUMMARY_COLUMNS))


# --------------------------------------------------------------------------- figure


def agreement_figure(gains_by_network: dict[str, pd.DataFrame], path_png: str | os.PathLike) -> str:
    """One panel per network pair (a, b): the gain under a (x) against the gain under b (y), in
    accuracy points, for every (target, source) pair with a gain under both, with the diagonal
    (same gain) and the zero lines; the title gives the median over targets of the Spearman
    correlation (targets with at least ``MIN_SOURCES`` common sources). Written as ``path_png``
    and the same path with ``.svg`` (``figures.save_png_svg``); returns the PNG's path."""
    # Imported when drawn: the tables above need neither seaborn nor matplotlib.
    import seaborn as sns
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from transfer_tsc.report import figures

    names = _networks(gains_by_network)
    pairs = _pairs(names)
    commons = [_common(gains_by_network, a, b) for a, b in pairs]
    ncols = min(3, len(pairs))
    nrows = math.ceil(len(pairs) / ncols)
    figure = Figure(figsize=(5.2 * ncols, 5.2 * nrows + 0.6), dpi=figures.DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (a, b), common in zip(axes, pairs, commons):
        x = common["gain_a"].to_numpy(dtype=float) * 100.0
        y = common["gain_b"].to_numpy(dtype=float) * 100.0
        sns.scatterplot(
            x=x,
            y=y,
            ax=ax,
            color="#1f77b4",
            s=18 if len(x) > 500 else 36,
            alpha=0.5 if len(x) > 500 else 0.85,
            edgecolor="black",
            linewidth=0.3,
            label=f"(target, source) pairs (n = {len(x)})",
        )
        limit = max(float(np.max(np.abs(np.concatenate([x, y])))), 1.0) * 1.08
        ax.plot(
            [-limit, limit],
            [-limit, limit],
            color="black",
            linestyle="--",
            linewidth=1,
            label="same gain under both",
        )
        ax.axhline(0, color="#555555", linewidth=0.8)
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.text(
            0.97,
            0.97,
            "both gain",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=9,
            color="#555555",
            bbox=LABEL_BOX,
        )
        ax.text(
            0.03,
            0.03,
            "both lose",
            transform=ax.transAxes,
            fontsize=9,
            color="#555555",
            bbox=LABEL_BOX,
        )
        spearman = [rank_correlations(r["gain_a"], r["gain_b"])[0] for _, r in _comparable(common)]
        defined = [s for s in spearman if np.isfinite(s)]
        median = f"{float(np.median(defined)):.2f}" if defined else "n/a"
        ax.set_title(
            f"{a} vs {b}\nmedian Spearman over targets = {median} "
            f"({len(defined)} of {common['target'].nunique()} targets)",
            fontsize=10,
        )
        ax.set_xlabel(f"gain of transfer, {a} (accuracy points)")
        ax.set_ylabel(f"gain of transfer, {b} (accuracy points)")
        ax.grid(True, linewidth=0.3)
        ax.legend(fontsize=8, loc="upper left")
    for ax in axes[len(pairs) :]:
        ax.set_visible(False)
    figure.suptitle(
        "Gain of fine-tuning over training from scratch, across networks (section III-A)"
    )
    outputs = SimpleNamespace(png=str(path_png), svg=str(Path(path_png).with_suffix(".svg")))
    return figures.save_png_svg(figure, outputs)
