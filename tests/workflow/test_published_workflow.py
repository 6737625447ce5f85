"""The paper's analyses on its published results through Snakemake (rules/published.smk):
`snakemake published` makes results/published/ with no training and no dataset, in seconds;
the default target has them when config published_analyses says so; the study's claims table
reads the study's gathered FCN tables."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import job_counts, run_snakemake

from transfer_tsc.report import analysis, published

pytestmark = pytest.mark.workflow  # every test here runs Snakemake

PUBLISHED_JOBS = {"published_accuracy_variation": 1, "published_analyses": 1, "published": 1}
FILES = [
    f"{name}.{ext}"
    for name in (
        "accuracy_variation",
        "aggregates",
        "dtw_vs_random",
        "rank_curves",
        "selection_methods",
        "critical_difference",
    )
    for ext in ("csv", "png", "svg")
] + ["selection_methods_by_target.csv", "networks_scratch.csv", "paper_claims.csv"]


def test_published_target_needs_no_training_and_goes_in_the_report(tmp_path):
    config = {"ucr_root": "demo"}
    run = run_snakemake(tmp_path, config, "published")
    assert job_counts(run.stdout + run.stderr) == PUBLISHED_JOBS  # no dataset, no training
    out = tmp_path / "results" / "published"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert all((out / name).stat().st_size > 1000 for name in FILES if name[-3:] in "pngsvg")
    # Fig. 6 on the published results: 52 / 3 / 30 (tests/report/test_paper_claims.py
    # recomputes it from the raw files)
    summary = analysis.dtw_summary(pd.read_csv(out / "dtw_vs_random.csv"))
    assert (summary["wins"], summary["ties"], summary["losses"]) == (52, 3, 30)
    variation = pd.read_csv(out / "accuracy_variation.csv", index_col=0)
    assert variation.shape == (85, 85)
    assert pd.read_csv(out / "selection_methods.csv")["method"].tolist() == [
        "dtw",
        "random",
        "oracle",
    ]
    ranks = pd.read_csv(out / "critical_difference.csv")
    ranks = ranks[ranks["section"] == "rank"]
    assert set(ranks["method"]) == {"FCN", "ResNet", "Inception", "InceptionTime"}
    assert (ranks["n_datasets"] == 85).all()
    claims = pd.read_csv(out / "paper_claims.csv", keep_default_na=False).set_index("claim")
    assert claims.at["fig6", "published"] == "52 / 3 / 30, p = 0.018"
    assert claims.at["oliveoil", "published_holds"] == "yes"
    assert (claims["this_run"] == "").all()
    assert "results/fcn/analysis/paper_claims.csv" in claims.at["fig6", "this_run_note"]

    run_snakemake(tmp_path, config, "published", "--report", "results/report.html")
    html = (tmp_path / "results" / "report.html").read_text()
    for text in (
        "Published results (no training)",
        "critical_difference.png",
        "paper_claims.csv",
        "The transferability scores",
    ):
        assert text in html, text


def test_the_default_target_follows_published_analyses(tmp_path):
    rules = ["published_accuracy_variation", "published_analyses", "paper_claims"]
    counts = job_counts(run_snakemake(tmp_path, {"ucr_root": "demo"}, "-n").stdout)
    assert [counts.get(rule) for rule in rules] == [1, 1, 1] and "published" not in counts
    off = {"ucr_root": "demo", "published_analyses": False}
    counts = job_counts(run_snakemake(tmp_path, off, "-n").stdout)
    assert [counts.get(rule) for rule in rules] == [None, None, None]
    assert counts["pretrain"] == 3  # the study itself is unchanged


def test_the_claims_with_the_study_results(tmp_path, ucr_root):
    """The study's claims table reads its gathered FCN tables (here written beforehand, from the
    published results of 8 datasets of the shared subset, so that nothing trains)."""
    names = ["Adiac", "Beef", "Coffee", "DiatomSizeReduction", "FaceFour", "FiftyWords"]
    names += ["Meat", "OliveOil"]
    paper = published.load()
    (tmp_path / "results" / "fcn").mkdir(parents=True)
    (tmp_path / "results" / "similarity").mkdir(parents=True)
    paper.transfer.loc[names, names].to_csv(tmp_path / "results/fcn/transfer_accuracy.csv")
    paper.scratch[names].rename("test_accuracy").reset_index().to_csv(
        tmp_path / "results/fcn/scratch_accuracy.csv", index=False
    )
    neighbours = published.restrict_neighbours(paper.neighbours, names)
    neighbours.assign(distance=neighbours["rank"] * 1.0).to_csv(
        tmp_path / "results/similarity/neighbours.csv", index=False
    )
    config = {"ucr_root": str(ucr_root), "datasets": names}
    target = "results/fcn/analysis/paper_claims.csv"
    run = run_snakemake(tmp_path, config, target)
    assert job_counts(run.stdout + run.stderr) == {"paper_claims": 1}  # the tables are taken
    claims = pd.read_csv(tmp_path / target, keep_default_na=False).set_index("claim")
    assert claims.at["fig6", "published"] == "52 / 3 / 30, p = 0.018"
    assert claims.at["meat_top3", "this_run"] == "top 3 mean 95.0 %, from scratch 81.7 %"
    assert claims.at["oliveoil", "this_run"] == ""
    assert claims.at["oliveoil", "this_run_note"].startswith("no Mallat in the results")
    assert "this run has 8 of the paper's 85 datasets" in claims.at["fig6", "this_run_note"]
