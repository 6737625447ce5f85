"""Small tables written by hand for the analysis tests, read by the package's own readers."""

from __future__ import annotations

import pandas as pd

from transfer_tsc.report import analysis


def scratch(values: dict[str, float]) -> pd.Series:
    """The from-scratch accuracies {dataset: accuracy} as ``analysis.scratch_series`` reads them."""
    return analysis.scratch_series(
        pd.DataFrame({"dataset": list(values), "test_accuracy": list(values.values())})
    )


def neighbours(order: dict[str, list[str]]) -> pd.DataFrame:
    """Neighbour table from {target: [nearest source, second, ...]} (distance = rank / 10)."""
    rows = [
        (target, rank, source, rank / 10)
        for target, sources in order.items()
        for rank, source in enumerate(sources, start=1)
    ]
    return analysis.neighbour_table(
        pd.DataFrame(rows, columns=["target", "rank", "source", "distance"])
    )
