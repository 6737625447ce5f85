"""The study-cost estimate of ``benchmarks/study_cost.py``: its table of the 2015 archive's sizes
agrees with the shared archive's inventory, its cost model is recovered from exact data, and the
study's seconds are the sum the docstring states."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study_cost():
    spec = importlib.util.spec_from_file_location("study_cost", REPO / "benchmarks/study_cost.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sizes_are_the_85_datasets_and_agree_with_the_inventory(study_cost, ucr_root):
    sizes = study_cost.sizes()
    assert len(sizes) == 85 and sizes["name_2015"].is_unique
    inventory = pd.read_csv(ucr_root / "INVENTORY.tsv", sep="\t").dropna(subset=["name_2015"])
    both = inventory.merge(sizes, on="name_2015", how="inner")
    assert len(both) == len(inventory) == 47
    assert (both["n_train_x"] == both["n_train_y"]).all()
    assert (both["n_test_x"] == both["n_test_y"]).all()
    assert (both["length_max"] == both["length"]).all()


def test_cost_model_is_recovered_and_summed(study_cost):
    alpha, beta = 2e-6, 5e-6
    rows = [
        {"n": n, "length": length, "batch": batch, "seconds": n * length * (alpha + beta / batch)}
        for n, length, batch in [(20, 84, 2), (16, 345, 1), (50, 150, 16), (200, 427, 16)]
    ]
    fitted = study_cost.fit_cost(rows)
    np.testing.assert_allclose(fitted, (alpha, beta), rtol=1e-9)

    table = pd.DataFrame({"n_train": [20, 400], "length": [100, 50]})
    # 20 series: batch 2 under the released rule; 400: batch 16. Two datasets, each trained on
    # twice (its pre-training and one fine-tuning), 2000 epochs.
    expected = 2000 * 2 * (20 * 100 * (alpha + beta / 2) + 400 * 50 * (alpha + beta / 16))
    got = study_cost.study_seconds((alpha, beta), table, study_cost.released_batch)
    assert got == pytest.approx(expected, rel=1e-12)
    assert study_cost.released_batch(9) == 1 and study_cost.released_batch(1000) == 16
