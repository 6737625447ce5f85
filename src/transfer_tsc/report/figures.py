"""The paper's figures (section V, Figs 4-9) drawn from the analysis tables with seaborn on
matplotlib's Agg canvas (no display, no pyplot state). Each ``*_figure`` function returns a
``Figure``; ``save_png_svg`` writes it atomically as a figure rule's PNG and SVG (``save``: to
any paths). Accuracies are shown in percent.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from transfer_tsc.io import atomic_path
from transfer_tsc.report.analysis import compared_targets, dtw_summary

DPI = 150
MISSING_COLOUR = "#d9d9d9"  # pair not run: light grey, hatched
DIAGONAL_COLOUR = "#4d4d4d"  # source = target: dark grey
# Fig. 5's colours: minimum red, median yellow, maximum blue.
AGGREGATE_STYLE = {
    "min_accuracy": ("minimum", "#d62728", "v"),
    "median_accuracy": ("median", "#e6ab02", "o"),
    "max_accuracy": ("maximum", "#1f77b4", "^"),
}


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, *paths: str | os.PathLike) -> None:
    """Write ``figure`` to each path (format from the suffix), each atomically."""
    for path in paths:
        with atomic_path(path) as tmp:
            figure.savefig(
                tmp,
                format=os.path.splitext(str(path))[1].lstrip(".") or "png",
                dpi=DPI,
                bbox_inches="tight",
                pad_inches=0.15,
            )


class PngSvg(Protocol):
    """A figure rule's named outputs (``snakemake.output``): ``png`` and ``svg``."""

    png: str
    svg: str


def save_png_svg(figure: Figure, outputs: PngSvg) -> str:
    """Write ``figure`` as ``outputs.png`` and ``outputs.svg`` (:func:`save`); the PNG's path."""
    save(figure, outputs.png, outputs.svg)
    return outputs.png


def _percent(values) -> np.ndarray:
    return np.asarray(values, dtype=float) * 100.0


def runs_note(runs: int) -> str:
    """How many runs each accuracy is the mean of, for a figure's subtitle: "" for one run."""
    return f"mean over {runs} runs, bars +- 1 std over runs" if runs > 1 else ""


def _table_runs(table: pd.DataFrame) -> int:
    """R of a table with the spread columns (``runs``), 1 without them."""
    if "runs" not in table.columns or not table["runs"].notna().any():
        return 1
    return int(table["runs"].dropna().max())


def _error_bars(ax, x, y, xerr=None, yerr=None, color: str = "#555555") -> np.ndarray:
    """Error bars (+- ``xerr``, ``yerr``, NaN drawn as none) behind the dots at (``x``, ``y``);
    the bars' ends, for the axis limits."""
    ends = [np.asarray(x, dtype=float), np.asarray(y, dtype=float)]
    for centre, error in ((x, xerr), (y, yerr)):
        if error is not None:
            error = np.nan_to_num(error)
            ends += [np.asarray(centre) - error, np.asarray(centre) + error]
    ax.errorbar(
        x,
        y,
        xerr=None if xerr is None else np.nan_to_num(xerr),
        yerr=None if yerr is None else np.nan_to_num(yerr),
        fmt="none",
        ecolor=color,
        elinewidth=0.8,
        capsize=2,
        alpha=0.7,
        zorder=1,
    )
    return np.concatenate(ends)


# --------------------------------------------------------------------------- Fig. 4


def heatmap_cell_inches(n: int) -> float:
    """Cell size: large for a few datasets, 0.16 in at 85 so every label still fits."""
    return min(0.9, max(0.16, 9.0 / max(n, 1)))


def variation_figure(
    variation: pd.DataFrame, limit: float | None = None, pairs: str = ""
) -> Figure:
    """Fig. 4: heat map of the accuracy variation (%), rows source and columns target, on a
    red-white-blue palette centred on 0 (red: transfer hurts, blue: it helps). Pairs not run are
    hatched grey, the diagonal dark grey. ``limit`` caps the colour scale (default: the largest
    absolute variation)."""
    rows, cols = variation.shape
    cell = heatmap_cell_inches(max(rows, cols))
    font = min(11.0, max(6.0, cell * 72 * 0.5))
    large = max(11.0, font + 2)
    longest = max((len(str(n)) for n in [*variation.index, *variation.columns]), default=1)
    # Explicit layout in inches: tick labels (about 0.6 em a character) + axis label around the
    # grid of square cells, the title above, the colour bar on the right, the legend below.
    labels_in = longest * font * 0.6 / 72 + 0.15 + 2.2 * large / 72
    left, bottom, top, right = labels_in, labels_in + 0.5, 0.4 + 3 * large / 72, 1.6
    width, height = cols * cell, rows * cell
    figure = Figure(figsize=(left + width + right, bottom + height + top), dpi=DPI)
    FigureCanvasAgg(figure)
    W, H = figure.get_size_inches()
    ax = figure.add_axes((left / W, bottom / H, width / W, height / H))
    bar_height = min(height, max(1.2, 0.6 * height))
    cax = figure.add_axes(
        (
            (left + width + 0.25) / W,
            (bottom + (height - bar_height) / 2) / H,
            0.18 / W,
            bar_height / H,
        )
    )
    finite = np.abs(variation.to_numpy(dtype=float))
    finite = finite[np.isfinite(finite)]
    vmax = limit if limit else (float(finite.max()) if finite.size and finite.max() > 0 else 1.0)
    ax.set_facecolor(MISSING_COLOUR)
    ax.patch.set_hatch("////")
    ax.patch.set_edgecolor("#a0a0a0")
    sns.heatmap(
        variation.astype(float),
        ax=ax,
        cbar_ax=cax,
        cmap="RdBu",
        center=0.0,
        vmin=-vmax,
        vmax=vmax,
        xticklabels=True,
        yticklabels=True,
        linewidths=0.0,
        cbar_kws={"label": "accuracy variation (%)"},
    )
    diagonal = pd.DataFrame(
        np.where(
            np.equal.outer(variation.index.to_numpy(), variation.columns.to_numpy()), 1.0, np.nan
        ),
        index=variation.index,
        columns=variation.columns,
    )
    if diagonal.notna().any().any():
        sns.heatmap(
            diagonal,
            ax=ax,
            cmap=ListedColormap([DIAGONAL_COLOUR]),
            cbar=False,
            xticklabels=True,
            yticklabels=True,
        )
    ax.tick_params(axis="both", labelsize=font, length=2)
    ax.set_xticklabels(ax.get_xticklabels(), rotation=90)
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
    ax.set_xlabel("target dataset (fine-tuned and tested on)", fontsize=large)
    ax.set_ylabel("source dataset (pre-trained on)", fontsize=large)
    cax.yaxis.label.set_fontsize(large)
    cax.tick_params(labelsize=font + 1)
    title = "Accuracy variation of fine-tuning over training from scratch (Fig. 4)"
    ax.set_title(f"{title}\n{pairs}" if pairs else title, fontsize=large + 1)
    figure.legend(
        handles=[
            Patch(
                facecolor=MISSING_COLOUR, edgecolor="#a0a0a0", hatch="////", label="pair not run"
            ),
            Patch(facecolor=DIAGONAL_COLOUR, label="source = target (left out)"),
        ],
        loc="lower left",
        bbox_to_anchor=(left / W, 0.02),
        fontsize=large,
        frameon=False,
        ncols=2,
    )
    return figure


# --------------------------------------------------------------------------- Fig. 5


def _square_limits(ax, values: np.ndarray) -> None:
    values = values[np.isfinite(values)]
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 100.0)
    pad = max(2.0, 0.05 * (high - low))
    low, high = max(-1.5, low - pad), min(101.5, high + pad)
    if high - low < 5:
        low, high = max(-1.5, low - 5), min(101.5, high + 5)
    ax.plot([low, high], [low, high], color="black", linestyle="--", linewidth=1, label="y = x")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")


def _dots(ax, x, y, label: str, color: str = "#1f77b4", **style) -> None:
    """One dot per dataset at (``x``, ``y``) as the scatter figures draw them (seaborn, black
    edges), under ``label`` in the legend; ``style``: more of ``sns.scatterplot``'s keywords."""
    sns.scatterplot(
        x=x,
        y=y,
        ax=ax,
        color=color,
        s=40,
        alpha=0.85,
        edgecolor="black",
        linewidth=0.4,
        label=label,
        **style,
    )


# Fig. 5's error bars with runs above 1: per aggregate, the columns of its std over runs (x, y):
# the scratch accuracy's once per target (on the median), the worst and best source's.
AGGREGATE_SPREAD = {
    "min_accuracy": (None, "min_std"),
    "median_accuracy": ("scratch_std", None),
    "max_accuracy": (None, "max_std"),
}


def aggregates_figure(table: pd.DataFrame, pairs: str = "") -> Figure:
    """Fig. 5: per target, the minimum, median and maximum fine-tuned accuracy over sources
    against the accuracy from scratch, with the diagonal (above it transfer helps). With the
    spread columns (runs above 1, ``analysis.aggregates_spread``): error bars of +- 1 std over
    runs on the scratch accuracy (x, once per target: on the median) and on the worst and best
    source's accuracy (y)."""
    figure = _figure(6.4, 6.4)
    ax = figure.add_subplot()
    present = table[table["n_sources"] > 0]
    x = _percent(present["scratch_accuracy"])
    runs = _table_runs(present)
    everything = [x]
    for column, (name, colour, marker) in AGGREGATE_STYLE.items():
        y = _percent(present[column])
        everything.append(y)
        if runs > 1:
            xerr, yerr = (_percent(present[c]) if c else None for c in AGGREGATE_SPREAD[column])
            everything.append(_error_bars(ax, x, y, xerr, yerr, color=colour))
        _dots(ax, x, y, f"{name} over sources", color=colour, marker=marker)
    _square_limits(ax, np.concatenate(everything))
    ax.set_xlabel("test accuracy trained from scratch (%)")
    ax.set_ylabel("test accuracy fine-tuned from a source (%)")
    detail = ", ".join(filter(None, [f"{len(present)} targets", pairs, runs_note(runs)]))
    ax.set_title(f"Transfer learning vs no transfer (Fig. 5)\n{detail}")
    ax.legend(loc="lower right", fontsize=9)
    ax.grid(True, linewidth=0.3)
    return figure


# --------------------------------------------------------------------------- Fig. 6


def _p_text(p: float) -> str:
    return "n/a (no difference)" if not np.isfinite(p) else f"{p:.3g}"


def second_nn_gains(table: pd.DataFrame, gain: float) -> pd.DataFrame:
    """The targets whose second-nearest source beats the nearest by at least ``gain`` (accuracy,
    0-1): the paper's "2nd NN" dots (DiatomSizeReduction 3.3 -> 46.7 %, Wine 51.9 -> 77.8 %)."""
    rows = compared_targets(table)
    return rows[rows["second_accuracy"] - rows["dtw_accuracy"] >= gain - 1e-12]


def dtw_vs_random_figure(
    table: pd.DataFrame, draws: int | None = None, pairs: str = "", second_nn_gain: float = 0.1
) -> Figure:
    """Fig. 6: per target, fine-tuned accuracy with the DTW-nearest source (y) against the mean
    over random sources (x), the diagonal, and the win / tie / loss counts and the Wilcoxon
    signed-rank p-value in the legend; for targets whose second-nearest source gains at least
    ``second_nn_gain`` over the nearest, a named "2nd NN" dot above theirs. With the spread
    columns (runs above 1, ``analysis.dtw_vs_random_spread``): error bars of +- 1 std over runs
    on both accuracies, and the wins that hold in every run in the legend."""
    summary = dtw_summary(table)
    rows = compared_targets(table)
    runs = _table_runs(table)
    figure = _figure(6.4, 6.4)
    ax = figure.add_subplot()
    x, y = _percent(rows["random_accuracy"]), _percent(rows["dtw_accuracy"])
    bar_ends = np.empty(0)
    if runs > 1:
        xerr, yerr = _percent(rows["random_std"]), _percent(rows["dtw_std"])
        bar_ends = _error_bars(ax, x, y, xerr, yerr)
    _dots(ax, x, y, f"target datasets (n = {len(rows)})")
    gains = second_nn_gains(table, second_nn_gain)
    if len(gains):
        gx, gy = _percent(gains["random_accuracy"]), _percent(gains["second_accuracy"])
        ax.vlines(gx, _percent(gains["dtw_accuracy"]), gy, color="#ff7f0e", linewidth=0.8)
        ax.scatter(
            gx,
            gy,
            marker="^",
            s=55,
            color="#ff7f0e",
            edgecolor="black",
            linewidth=0.4,
            zorder=3,
            label=f"2nd NN (gains >= {100 * second_nn_gain:g} points)",
        )
        for name, px, py in zip(gains["target"], gx, gy):
            ax.annotate(name, (px, py), xytext=(4, 3), textcoords="offset points", fontsize=8)
    _square_limits(ax, np.concatenate([x, y, _percent(gains["second_accuracy"]), bar_ends]))
    handles, labels = ax.get_legend_handles_labels()
    blank = Line2D([], [], linestyle="none")
    handles += [blank, blank]
    labels += [
        "DTW wins / ties / losses: "
        + " / ".join(str(int(summary[k])) for k in ("wins", "ties", "losses")),
        f"Wilcoxon signed-rank p = {_p_text(float(summary['wilcoxon_p']))}",
    ]
    if runs > 1:
        handles.append(blank)
        labels.append(f"DTW wins in every one of the {runs} runs: {int(summary['wins_every_run'])}")
    ax.legend(handles, labels, loc="lower right", fontsize=9)
    random_label = "random source" + (f", mean of {draws} draws" if draws else "")
    ax.set_xlabel(f"test accuracy, {random_label} (%)")
    ax.set_ylabel("test accuracy, DTW-nearest source (%)")
    detail = ", ".join(filter(None, [pairs, runs_note(runs)]))
    ax.set_title("Source chosen by DTW vs at random (Fig. 6)" + (f"\n{detail}" if detail else ""))
    ax.text(0.03, 0.97, "DTW better", transform=ax.transAxes, va="top", fontsize=9, color="#555555")
    ax.text(
        0.97, 0.30, "random better", transform=ax.transAxes, ha="right", fontsize=9, color="#555555"
    )
    ax.grid(True, linewidth=0.3)
    return figure


# --------------------------------------------------------------------------- Figs 7-9


def rank_curves_figure(curves: pd.DataFrame, targets: Sequence[str], smoothing: int = 1) -> Figure:
    """Figs 7-9: per target, the fine-tuned accuracy against the source's DTW neighbour rank
    (1 = nearest): each pair as a point, the centred moving average over ``smoothing`` ranks as a
    line, and the accuracy from scratch as a dashed line."""
    n = max(len(targets), 1)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    figure = _figure(4.6 * ncols, 3.8 * nrows + 0.6)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, target in zip(axes, targets):
        curve = curves[curves["target"] == target].sort_values("rank")
        ran = curve[curve["accuracy"].notna()]
        ax.scatter(
            ran["rank"],
            _percent(ran["accuracy"]),
            s=18,
            color="#1f77b4",
            alpha=0.6,
            label="fine-tuned accuracy",
        )
        if smoothing > 1 and len(ran):
            sns.lineplot(
                x=ran["rank"].to_numpy(),
                y=_percent(ran["accuracy_smoothed"]),
                ax=ax,
                color="#d62728",
                label=f"moving average ({smoothing} ranks)",
            )
        scratch = curve["scratch_accuracy"].dropna()
        if len(scratch):
            ax.axhline(
                100 * float(scratch.iloc[0]),
                color="black",
                linestyle="--",
                linewidth=1,
                label="trained from scratch",
            )
        if not len(ran):
            ax.text(
                0.5,
                0.5,
                "no fine-tuned results yet",
                transform=ax.transAxes,
                ha="center",
                color="#555555",
            )
        ax.set_title(f"target {target}\n{len(ran)} of {len(curve)} sources run", fontsize=10)
        ax.set_xlabel("DTW neighbour rank of the source (1 = nearest)")
        ax.set_ylabel("test accuracy (%)")
        if len(curve):
            ax.set_xlim(0.5, float(curve["rank"].max()) + 0.5)
            if curve["rank"].max() <= 12:
                ax.set_xticks(sorted(curve["rank"].unique()))
        ax.grid(True, linewidth=0.3)
        ax.legend(fontsize=8, loc="best")
    for ax in axes[len(targets) :]:
        ax.set_visible(False)
    figure.suptitle("Accuracy vs similarity of the source dataset (Figs 7-9)")
    return figure


# --------------------------------------------------------------------------- the paper's results


def _comparison_value(table: pd.DataFrame, section: str, statistic: str) -> pd.Series | None:
    rows = table[
        (table["section"] == section) & (table["statistic"] == statistic) & table["dataset"].isna()
    ]
    return rows.iloc[0] if len(rows) == 1 else None


def published_comparison_figure(
    table: pd.DataFrame,
    label_limit: int = 25,
    source: str = "Ismail Fawaz et al. 2018, github.com/hfawaz/bigdata18",
) -> Figure:
    """Per dataset shared with the published results (``source``, the subtitle), our accuracy
    trained from scratch (y) against the published one (x), with the diagonal; the legend gives
    the mean absolute difference of the scratch and of the transfer accuracies
    (``published.comparison``'s or ``network_comparison``'s table). Names are written beside
    the points up to ``label_limit`` datasets. Without a shared dataset the figure says so."""
    figure = _figure(6.4, 6.4)
    ax = figure.add_subplot()
    rows = table[(table["section"] == "scratch") & table["dataset"].notna()]
    if not len(rows):
        ax.text(
            0.5,
            0.5,
            "no datasets shared with the published results:\nnothing to compare",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=12,
            color="#555555",
        )
        ax.set_axis_off()
        ax.set_title("Accuracy trained from scratch: ours vs published")
        return figure
    x, y = _percent(rows["published"]), _percent(rows["ours"])
    _dots(ax, x, y, f"datasets (n = {len(rows)})")
    if len(rows) <= label_limit:
        for name, px, py in zip(rows["dataset"], x, y):
            ax.annotate(str(name), (px, py), xytext=(4, 3), textcoords="offset points", fontsize=8)
    _square_limits(ax, np.concatenate([x, y]))
    handles, labels = ax.get_legend_handles_labels()
    blank = Line2D([], [], linestyle="none")
    for section, name in (("scratch", "scratch"), ("transfer", "transfer")):
        row = _comparison_value(table, section, "mean absolute difference")
        if row is not None and pd.notna(row["value"]):
            handles.append(blank)
            labels.append(
                f"{name}: mean |ours - published| = {100 * float(row['value']):.1f} points"
                f" (n = {int(row['n'])})"
            )
    ax.legend(
        handles, labels, loc="upper left", fontsize=9
    )  # the corner a reproduction leaves empty
    ax.set_xlabel("published test accuracy trained from scratch (%)")
    ax.set_ylabel("our test accuracy trained from scratch (%)")
    ax.set_title(f"Accuracy trained from scratch: ours vs published\n({source})")
    ax.grid(True, linewidth=0.3)
    return figure


# --------------------------------------------------------------------------- choosing the source

SELECTION_LABELS = {
    "dtw": "DTW-nearest",
    "leep": "LEEP",
    "nce": "NCE",
    "logme": "LogME",
    "hscore": "H-score",
    "random": "random (control)",
    "oracle": "oracle (best source)",
}


def selection_methods_figure(summary: pd.DataFrame, pairs: str = "") -> Figure:
    """The source-selection comparison (``selection.summarise``'s table): per method, the mean
    regret in accuracy points (bars, left), annotated with the wins / ties / losses against
    random, the Wilcoxon p-value, the mean accuracy of the source chosen and the targets it
    rests on (with runs above 1, also the wins that hold in every run); and the mean Kendall tau
    and weighted tau between its ranking and the fine-tuned accuracies (right; n/a for random)."""
    rows = summary.reset_index(drop=True)
    labels = [SELECTION_LABELS.get(m, m) for m in rows["method"]]
    y = np.arange(len(rows))
    figure = _figure(11.5, 0.55 * len(rows) + 2.2)
    left, right = figure.subplots(1, 2, sharey=True, width_ratios=[1.25, 1])
    regret = _percent(rows["regret"])
    colours = [
        "#7f7f7f" if m == "random" else "#2ca02c" if m == "oracle" else "#1f77b4"
        for m in rows["method"]
    ]
    left.barh(y, np.nan_to_num(regret), color=colours, edgecolor="black", linewidth=0.4)
    top = np.nanmax(regret) if np.isfinite(regret).any() else 1.0
    for i, row in rows.iterrows():
        note = f"n = {int(row['n_targets'])}"
        if pd.notna(row["accuracy"]):
            note = f"accuracy {100 * float(row['accuracy']):.1f} %, {note}"
        if row["method"] != "random" and pd.notna(row["wins"]):
            note += (
                f", W/T/L {int(row['wins'])}/{int(row['ties'])}/{int(row['losses'])}, "
                f"p = {_p_text(float(row['wilcoxon_p']))}"
            )
            if pd.notna(row.get("wins_every_run", pd.NA)):
                note += f", wins in every run {int(row['wins_every_run'])}"
        value = regret[i] if np.isfinite(regret[i]) else 0.0
        left.text(value + 0.01 * max(top, 1e-9), i, note, va="center", fontsize=8)
    left.set_xlim(0, max(top, 1e-9) * 2.2 + 0.5)
    left.set_yticks(y, labels)
    left.invert_yaxis()
    left.set_xlabel("mean regret: best accuracy - chosen source's (points)")
    left.set_title("Regret (lower is better); W/T/L vs random")
    left.grid(True, axis="x", linewidth=0.3)
    height = 0.38
    for offset, column, name, colour in (
        (-height / 2, "kendall_tau", "Kendall tau", "#1f77b4"),
        (height / 2, "weighted_tau", "weighted tau", "#ff7f0e"),
    ):
        values = rows[column].to_numpy(dtype=float)
        right.barh(
            y + offset,
            np.nan_to_num(values),
            height,
            color=colour,
            edgecolor="black",
            linewidth=0.4,
            label=name,
        )
    for i, row in rows.iterrows():
        if pd.isna(row["kendall_tau"]):
            right.text(0.02, i, "n/a", va="center", fontsize=8, color="#555555")
    right.axvline(0, color="black", linewidth=0.8)
    right.set_xlim(-1.05, 1.05)
    right.set_xlabel("mean rank correlation with the fine-tuned accuracies")
    right.set_title("Ranking the sources (higher is better)")
    # below the figure, where the constrained layout keeps it clear of the axis labels
    figure.legend(
        *right.get_legend_handles_labels(), fontsize=8, loc="outside lower right", ncols=2
    )
    right.grid(True, axis="x", linewidth=0.3)
    figure.suptitle("Choosing the source without fine-tuning" + (f"\n{pairs}" if pairs else ""))
    return figure
