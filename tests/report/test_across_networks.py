"""The across-networks analysis against numbers worked out by hand on a 4-dataset study, scipy
on a random one, its refusals, and its figure."""

from __future__ import annotations

import hand_tables
import numpy as np
import pandas as pd
import pytest
from hand_tables import neighbours
from matplotlib.image import imread
from scipy import stats

from transfer_tsc.errors import InputError
from transfer_tsc.report import across_networks, analysis

NAMES = ["A", "B", "C", "D"]
# Scratch accuracy of each dataset: a target's gain subtracts its own, never the source's.
SCRATCH = {"A": 0.5, "B": 0.6, "C": 0.7, "D": 0.8}


def matrix(rows: dict[str, dict[str, float]], names: list[str] = NAMES) -> pd.DataFrame:
    """A transfer table (rows source, columns target) from {target: {source: accuracy}}."""
    frame = pd.DataFrame(np.nan, index=names, columns=names)
    for target, sources in rows.items():
        for source, value in sources.items():
            frame.loc[source, target] = value
    frame.index.name = "source"
    return analysis.transfer_table(frame.reset_index())


def scratch(values: dict[str, float] = SCRATCH) -> pd.Series:
    return hand_tables.scratch(values)


# The hand-made study, accuracies {target: {source: accuracy}}; the gains in the comments.
FCN = matrix(
    {
        # scratch A 0.5: gains B +0.10, C -0.05, D +0.20
        "A": {"B": 0.60, "C": 0.45, "D": 0.70},
        # scratch B 0.6: gains A +0.10, C +0.20, D +0.30
        "B": {"A": 0.70, "C": 0.80, "D": 0.90},
        # scratch C 0.7: gains A 0, B 0, D 0 (constant)
        "C": {"A": 0.70, "B": 0.70, "D": 0.70},
        # scratch D 0.8: gains A -0.10, B -0.20, C +0.10
        "D": {"A": 0.70, "B": 0.60, "C": 0.90},
    }
)
RESNET = matrix(
    {
        # gains B +0.05, C +0.10, D +0.15
        "A": {"B": 0.55, "C": 0.60, "D": 0.65},
        # gains A +0.30, C +0.20, D +0.10
        "B": {"A": 0.90, "C": 0.80, "D": 0.70},
        # gains A -0.10, B 0, D +0.10
        "C": {"A": 0.60, "B": 0.70, "D": 0.80},
        # gain A +0.05; B and C not run: only 1 common source, D is left out
        "D": {"A": 0.85},
    }
)
NEIGHBOURS = neighbours(
    {
        "A": ["C", "B", "D"],
        "B": ["D", "A", "C"],
        "C": ["B", "D", "A"],
        "D": ["C", "A", "B"],
    }
)


def hand_gains() -> dict[str, pd.DataFrame]:
    return {
        "ResNet": across_networks.gains(RESNET, scratch()),
        "FCN": across_networks.gains(FCN, scratch()),
    }


# --------------------------------------------------------------------------- gains


def test_gains_subtract_the_targets_scratch_accuracy():
    table = across_networks.gains(FCN, scratch())
    assert list(table.columns) == ["target", "source", "gain"]
    assert len(table) == 12  # 4 targets x 3 sources, no diagonal
    gain = table.set_index(["target", "source"])["gain"]
    assert gain["A", "C"] == pytest.approx(0.45 - 0.5)
    assert gain["D", "C"] == pytest.approx(0.90 - 0.8)
    # Pairs not run are left out, not zero.
    resnet = across_networks.gains(RESNET, scratch())
    assert ("D", "C") not in set(zip(resnet["target"], resnet["source"]))
    assert len(resnet) == 10


def test_gains_refuse_a_target_without_scratch_accuracy():
    with pytest.raises(InputError, match="no from-scratch accuracy for target.*D"):
        across_networks.gains(FCN, scratch({"A": 0.5, "B": 0.6, "C": 0.7}))


# --------------------------------------------------------------------------- the hand case


def test_agreement_matches_the_hand_computation():
    table = across_networks.network_agreement(hand_gains(), NEIGHBOURS)
    assert list(table.columns) == list(across_networks.AGREEMENT_COLUMNS)
    # Sorted names: FCN < ResNet; D has only 1 common source and is left out.
    assert table[["network_a", "network_b"]].drop_duplicates().values.tolist() == [
        ["FCN", "ResNet"]
    ]
    assert table["target"].tolist() == ["A", "B", "C"]
    assert table["sources"].tolist() == [3, 3, 3]
    rows = table.set_index("target")

    # Target A, sources B, C, D: FCN gains (+0.10, -0.05, +0.20) rank (2, 1, 3); ResNet gains
    # (+0.05, +0.10, +0.15) rank (1, 2, 3). d = (1, -1, 0), sum d^2 = 2,
    # rho = 1 - 6 * 2 / (3 * (9 - 1)) = 1 - 12/24 = 0.5.
    # Kendall: (B, C) FCN B > C, ResNet B < C: discordant; (B, D), (C, D) concordant;
    # tau = (2 - 1) / 3 = 1/3.
    # Signs FCN (+, -, +), ResNet (+, +, +): 2 of 3 agree.
    # Nearest source of A is C: gains -0.05 (FCN) and +0.10 (ResNet).
    assert rows.loc["A", "spearman"] == pytest.approx(0.5)
    assert rows.loc["A", "kendall"] == pytest.approx(1 / 3)
    assert rows.loc["A", "sign_agreement"] == pytest.approx(2 / 3)
    assert rows.loc["A", "nearest_source"] == "C"
    assert rows.loc["A", "nearest_gain_a"] == pytest.approx(-0.05)
    assert rows.loc["A", "nearest_gain_b"] == pytest.approx(0.10)

    # Target B, sources A, C, D: FCN (+0.1, +0.2, +0.3), ResNet (+0.3, +0.2, +0.1): the ranks
    # are reversed, rho = 1 - 6 * (4 + 0 + 4) / 24 = -1, all 3 pairs discordant: tau = -1.
    # All six gains positive: signs agree 3 of 3. Nearest D: +0.3 and +0.1.
    assert rows.loc["B", "spearman"] == pytest.approx(-1.0)
    assert rows.loc["B", "kendall"] == pytest.approx(-1.0)
    assert rows.loc["B", "sign_agreement"] == pytest.approx(1.0)
    assert rows.loc["B", "nearest_source"] == "D"
    assert rows.loc["B", "nearest_gain_a"] == pytest.approx(0.30)
    assert rows.loc["B", "nearest_gain_b"] == pytest.approx(0.10)

    # Target C: FCN gains all 0 (constant): no correlation. Signs FCN (0, 0, 0), ResNet
    # (A -, B 0, D +): 1 of 3 agree. Nearest B: 0 and 0.
    assert np.isnan(rows.loc["C", "spearman"]) and np.isnan(rows.loc["C", "kendall"])
    assert rows.loc["C", "sign_agreement"] == pytest.approx(1 / 3)
    assert rows.loc["C", "nearest_source"] == "B"
    assert rows.loc["C", "nearest_gain_a"] == pytest.approx(0.0, abs=1e-12)
    assert rows.loc["C", "nearest_gain_b"] == pytest.approx(0.0, abs=1e-12)


def test_summary_matches_the_hand_computation():
    table = across_networks.network_agreement(hand_gains(), NEIGHBOURS)
    summary = across_networks.agreement_summary(table)
    assert list(summary.columns) == list(across_networks.SUMMARY_COLUMNS)
    assert len(summary) == 1
    row = summary.iloc[0]
    assert (row["network_a"], row["network_b"], row["targets"]) == ("FCN", "ResNet", 3)
    # Median over the defined correlations (C's are NaN): rho (0.5, -1) -> -0.25,
    # tau (1/3, -1) -> (1/3 - 1) / 2 = -1/3.
    assert row["median_spearman"] == pytest.approx(-0.25)
    assert row["median_kendall"] == pytest.approx(-1 / 3)
    # Sign agreement (2/3 + 1 + 1/3) / 3 = 2/3.
    assert row["mean_sign_agreement"] == pytest.approx(2 / 3)
    # Nearest gains: FCN (-0.05 + 0.30 + 0) / 3 = 0.25 / 3; ResNet (0.10 + 0.10 + 0) / 3 = 0.2 / 3.
    assert row["mean_nearest_gain_a"] == pytest.approx(0.25 / 3)
    assert row["mean_nearest_gain_b"] == pytest.approx(0.20 / 3)
    # Gains under both: A no (FCN -0.05), B yes, C no (0 is a tie): 1 of 3.
    assert row["nearest_gains_both"] == pytest.approx(1 / 3)


def test_agreement_matches_scipy_on_a_random_study():
    rng = np.random.default_rng(3)
    names = [f"D{i}" for i in range(9)]
    base = dict(zip(names, rng.uniform(0.4, 0.9, len(names))))

    def study() -> pd.DataFrame:
        values = np.clip(np.array(list(base.values()))[None, :] + rng.normal(0, 0.1, (9, 9)), 0, 1)
        values[rng.random((9, 9)) < 0.2] = np.nan
        frame = pd.DataFrame(values, index=pd.Index(names, name="source"), columns=names)
        return analysis.transfer_table(frame.reset_index())

    transfers = {"X": study(), "Y": study()}
    gains = {n: across_networks.gains(t, scratch(base)) for n, t in transfers.items()}
    order = {t: list(rng.permutation([s for s in names if s != t])) for t in names}
    table = across_networks.network_agreement(gains, neighbours(order))
    assert len(table) > 3
    for _, row in table.iterrows():
        target = row["target"]
        ran = transfers["X"][target].notna() & transfers["Y"][target].notna()
        sources = ran[ran].index
        a = transfers["X"].loc[sources, target] - base[target]
        b = transfers["Y"].loc[sources, target] - base[target]
        assert row["sources"] == len(sources) >= 3
        assert row["spearman"] == pytest.approx(stats.spearmanr(a, b).statistic)
        assert row["kendall"] == pytest.approx(stats.kendalltau(a, b).statistic)
        assert row["sign_agreement"] == pytest.approx(np.mean(np.sign(a) == np.sign(b)))
        nearest = next(s for s in order[target] if s in sources)
        assert row["nearest_source"] == nearest
        assert row["nearest_gain_a"] == pytest.approx(a[nearest])
        assert row["nearest_gain_b"] == pytest.approx(b[nearest])


# --------------------------------------------------------------------------- ties


def long(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    """A gains table from {target: {source: gain}}."""
    return pd.DataFrame(
        [(t, s, g) for t, sources in rows.items() for s, g in sources.items()],
        columns=["target", "source", "gain"],
    )


def test_a_constant_side_gives_nan_correlations_not_an_error():
    gains = {
        "a": long({"T": {"S1": 0.1, "S2": 0.1, "S3": 0.1}, "U": {"S1": 0.0, "S2": 0.0, "S3": 0.0}}),
        "b": long({"T": {"S1": 0.1, "S2": 0.2, "S3": 0.3}, "U": {"S1": 0.0, "S2": 0.0, "S3": 0.0}}),
    }
    table = across_networks.network_agreement(gains, neighbours({"T": ["S2"], "U": ["S3"]}))
    assert table["spearman"].isna().all() and table["kendall"].isna().all()
    # Constant but the signs still compare: T all +, U all 0.
    assert table["sign_agreement"].tolist() == [1.0, 1.0]
    summary = across_networks.agreement_summary(table)
    assert np.isnan(summary.loc[0, "median_spearman"])
    assert summary.loc[0, "nearest_gains_both"] == pytest.approx(0.5)  # T yes, U no (0)


def test_partial_ties_share_their_average_rank_as_scipy():
    a = {"S1": 0.1, "S2": 0.1, "S3": 0.2, "S4": -0.3}
    b = {"S1": 0.2, "S2": 0.3, "S3": 0.3, "S4": 0.3}
    table = across_networks.network_agreement(
        {"a": long({"T": a}), "b": long({"T": b})}, neighbours({"T": ["S4"]})
    )
    x, y = list(a.values()), list(b.values())
    assert table.loc[0, "spearman"] == pytest.approx(stats.spearmanr(x, y).statistic)
    assert table.loc[0, "kendall"] == pytest.approx(stats.kendalltau(x, y).statistic)
    assert table.loc[0, "sign_agreement"] == pytest.approx(3 / 4)  # S4: - vs +


def test_a_gain_within_the_tolerance_of_zero_has_sign_zero():
    tiny = analysis.TIE_TOLERANCE / 2
    a = long({"T": {"S1": tiny, "S2": -tiny, "S3": 0.2}})
    b = long({"T": {"S1": -tiny, "S2": 0.0, "S3": 0.1}})
    table = across_networks.network_agreement({"a": a, "b": b}, neighbours({"T": ["S1"]}))
    assert table.loc[0, "sign_agreement"] == 1.0


def test_a_target_the_neighbours_do_not_rank_has_no_nearest_source():
    gains = {n: long({"T": {"S1": 0.1, "S2": 0.2, "S3": 0.3}}) for n in ("a", "b")}
    table = across_networks.network_agreement(gains, neighbours({"T": ["S9"]}))
    assert table.loc[0, "nearest_source"] is None
    assert np.isnan(table.loc[0, "nearest_gain_a"])
    summary = across_networks.agreement_summary(table)
    assert np.isnan(summary.loc[0, "nearest_gains_both"])


# --------------------------------------------------------------------------- three networks


def test_three_networks_give_three_pairs():
    gains = hand_gains()
    gains["Inception"] = across_networks.gains(FCN * 0.9, scratch())
    table = across_networks.network_agreement(gains, NEIGHBOURS)
    pairs = table[["network_a", "network_b"]].drop_duplicates().values.tolist()
    assert pairs == [["FCN", "Inception"], ["FCN", "ResNet"], ["Inception", "ResNet"]]
    summary = across_networks.agreement_summary(table)
    assert summary[["network_a", "network_b"]].values.tolist() == pairs
    # Inception = 0.9 x FCN's accuracies: a different gain, but (scratch being the same per
    # target) the same order over each target's sources, except C where FCN's are constant.
    fcn_inception = table[(table["network_a"] == "FCN") & (table["network_b"] == "Inception")]
    assert (
        fcn_inception.set_index("target").loc[["A", "B", "D"], "spearman"].tolist()
        == [pytest.approx(1.0)] * 3
    )


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_networks_are_refused(count, tmp_path):
    gains = dict(list(hand_gains().items())[:count])
    with pytest.raises(InputError, match="at least two networks") as error:
        across_networks.network_agreement(gains, NEIGHBOURS)
    assert "\n" not in str(error.value)
    with pytest.raises(InputError, match="at least two networks"):
        across_networks.agreement_figure(gains, tmp_path / "agreement.png")


def test_two_networks_without_a_common_target_are_refused(tmp_path):
    gains = {
        "FCN": long({"T": {"S1": 0.1, "S2": 0.2, "S3": 0.3}}),
        "ResNet": long({"U": {"S1": 0.1, "S2": 0.2, "S3": 0.3}}),
    }
    with pytest.raises(InputError, match="FCN and ResNet have no target in common") as error:
        across_networks.network_agreement(gains, NEIGHBOURS)
    assert "\n" not in str(error.value)
    with pytest.raises(InputError, match="no target in common"):
        across_networks.agreement_figure(gains, tmp_path / "agreement.png")


def test_a_gain_table_without_its_columns_is_refused():
    gains = hand_gains()
    gains["FCN"] = gains["FCN"].rename(columns={"gain": "accuracy"})
    with pytest.raises(InputError, match="gains of network FCN: missing column.*gain"):
        across_networks.network_agreement(gains, NEIGHBOURS)


# --------------------------------------------------------------------------- figure


def test_the_figure_is_written_as_png_and_svg(tmp_path):
    gains = hand_gains()
    gains["Inception"] = across_networks.gains(FCN * 0.9, scratch())
    png = across_networks.agreement_figure(gains, tmp_path / "agreement.png")
    assert png == str(tmp_path / "agreement.png")
    svg = tmp_path / "agreement.svg"
    assert (tmp_path / "agreement.png").stat().st_size > 0 and svg.stat().st_size > 0
    assert "gain of transfer, ResNet (accuracy points)" in svg.read_text()
    image = imread(png)
    height, width = image.shape[:2]
    # Three panels side by side at 150 dpi.
    assert 500 < height < 3000 and 1500 < width < 5000 and width > height
