"""The analyses of repeated runs through the workflow (config ``runs: 2``, issue 25): Figs 5 and
6's tables gain the std over runs and the wins that hold in every run, each against a hand
computation from the per-run tables the study gathered; the figures are drawn; the selection
comparison reads the per-run table too (its every-run wins, computed by the same job code, are
checked by hand in tests/report/test_spread.py, which also runs each job with one run: the
tables keep their columns); with one run no analysis reads a per-run table; and, with ensemble,
the study's per-run files and tables against a hand computation
(test_runs_workflow.check_runs_and_ensemble)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import job_counts, run_snakemake
from test_runs_workflow import check_runs_and_ensemble

from transfer_tsc.report import analysis

pytestmark = pytest.mark.workflow  # runs Snakemake

# Three datasets: every target has two sources, so DTW and random can differ.
DATASETS = ["Chinatown", "Coffee", "ItalyPowerDemand"]
TINY = {
    "pretrain": {"epochs": 2},
    "finetune": {"epochs": 1, "group_size": 2},  # one training job per target
    "training": {"progress_every": 1, "checkpoint_every": 1},
}
ANALYSES = [
    f"results/fcn/analysis/{name}"
    for name in [
        "aggregates.csv",
        "aggregates.png",
        "dtw_vs_random.csv",
        "dtw_vs_random.png",
        "accuracy_variation.png",
    ]
]


def std(values) -> float:
    """The std over runs, ddof 1, by hand."""
    values = np.asarray(values, dtype=float)
    return float(np.sqrt(np.sum((values - values.mean()) ** 2) / (len(values) - 1)))


def test_two_runs_give_the_analyses_their_spread_and_every_run_wins(tmp_path, ucr_root):
    config = {
        "ucr_root": str(ucr_root),
        "datasets": DATASETS,
        **TINY,
        "seed": 5,
        "runs": 2,
        "ensemble": True,
    }
    per_run = "results/fcn/transfer_accuracy_runs.csv"
    selection = "results/fcn/analysis/selection_methods.csv"
    one = run_snakemake(tmp_path / "one", {**config, "runs": 1}, *ANALYSES, selection, "-n")
    assert "accuracy_runs" not in one.stdout  # one run: the analyses' inputs as before
    dry = run_snakemake(tmp_path, config, *ANALYSES, selection, "-n")
    assert job_counts(dry.stdout) == job_counts(one.stdout)  # one job each, whatever the runs
    jobs = dry.stdout.split("\n\n")
    for rule in ["aggregates", "dtw_vs_random", "selection_methods", "figure_accuracy_variation"]:
        (job,) = [j for j in jobs if f"rule {rule}:" in j]
        assert per_run in job, rule
    run_snakemake(tmp_path, config, *ANALYSES)
    results = tmp_path / "results/fcn"
    runs = pd.read_csv(results / "transfer_accuracy_runs.csv")
    pair = runs.set_index(["source", "target", "run"])["test_accuracy"]
    scratch_runs = pd.read_csv(results / "scratch_accuracy_runs.csv")
    scratch = scratch_runs.set_index(["dataset", "run"])["test_accuracy"]

    # Fig. 5: the std over the runs of scratch, of the worst and of the best source's pair
    aggregates = pd.read_csv(results / "analysis/aggregates.csv").set_index("target")
    assert list(aggregates.columns[-4:]) == ["scratch_std", "min_std", "max_std", "runs"]
    for target, row in aggregates.iterrows():
        assert row["scratch_std"] == pytest.approx(std([scratch[(target, r)] for r in (1, 2)]))
        for column, source in (("min_std", row["worst_source"]), ("max_std", row["best_source"])):
            assert row[column] == pytest.approx(std([pair[(source, target, r)] for r in (1, 2)]))
    assert (aggregates["runs"] == 2).all()

    # Fig. 6: each run's own comparison (random draws seeded as for the means) by hand
    table = pd.read_csv(results / "analysis/dtw_vs_random.csv")
    rows = analysis.compared_targets(table).set_index("target")
    assert len(rows) == 3
    draws, seed = 1000, 5  # the defaults of analysis.random_draws, the config's seed
    won = {}
    for target, row in rows.iterrows():
        sources = sorted(s for s in DATASETS if s != target)  # the matrix's order
        rng = analysis.target_seed(seed, target)
        picks = rng.integers(0, len(sources), size=draws)
        dtw, random = [], []
        for r in (1, 2):
            values = np.array([pair[(s, target, r)] for s in sources])
            dtw.append(pair[(row["nearest_source"], target, r)])
            random.append(float(values[picks].mean()))
        assert row["dtw_std"] == pytest.approx(std(dtw))
        assert row["random_std"] == pytest.approx(std(random))
        won[target] = sum(analysis.outcome(d, x) == "win" for d, x in zip(dtw, random))
        assert row["runs_won"] == won[target] and row["runs"] == 2
    summary = analysis.dtw_summary(table)
    every = sum(n == 2 for n in won.values())
    assert summary["wins_every_run"] == every <= summary["wins"]  # on the means, as before
    assert summary["wins"] == (rows["outcome"] == "win").sum()

    for png in [p for p in ANALYSES if p.endswith(".png")]:
        assert (tmp_path / png).stat().st_size > 10_000, png

    # the study's own files and tables (test_runs_workflow.check_runs_and_ensemble)
    check_runs_and_ensemble(results, DATASETS, seed=5)
    check_each_source_fine_tunes_its_own_runs(results, config)


def check_each_source_fine_tunes_its_own_runs(results, config: dict) -> None:
    """A batch job of two sources x 2 runs (group_size 2) fine-tunes run r of each source from
    that source's pre-training run r: each pair fine-tuned again alone here, from its source's
    own runs' models, gives the batch's per-run histories (batched equals alone)."""
    from transfer_tsc import settings
    from transfer_tsc.data import load_dataset
    from transfer_tsc.training.transfer import finetune_runs, run_seeds

    validated = settings.validate(config)
    recipe = settings.recipe(validated, "finetune", "fcn")
    target = DATASETS[0]
    dataset = load_dataset(config["ucr_root"], target, **validated["data"])
    for source in DATASETS[1:]:  # one batch: both sources of the target
        models = [str(results / f"pretrain/{source}/run{r}/model.h5") for r in (1, 2)]
        alone = finetune_runs({source: models}, dataset, recipe, run_seeds(5, 2), log=lambda _: 0)
        for run, (_, outcome) in enumerate(alone[source], start=1):
            batched = pd.read_csv(results / f"finetune/{source}/{target}/run{run}/history.csv")
            np.testing.assert_allclose(
                outcome.train.history["loss"].to_numpy(),
                batched["loss"].to_numpy(),
                rtol=1e-4,
                err_msg=f"{source} -> {target} run {run}",
            )
