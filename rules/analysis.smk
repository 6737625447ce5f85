# The paper's analyses (section V): tables from the gathered results, figures from the tables,
# and the run's provenance, all marked for `snakemake --report`.

from transfer_tsc import selection

# The run's datasets that are among the paper's 85 (none for the demo archive: its CBF,
# SyntheticControl and TwoPatterns are generated, not the archive's), compared with the
# paper's published results.
PAPER_SHARED = (
    [] if DEMO else sorted(set(DATASETS) & set(data.ucr2015_names().values()))
)


rule accuracy_variation:
    input:
        scratch="results/scratch_accuracy.csv",
        transfer="results/transfer_accuracy.csv",
    output:
        table=report(
            "results/analysis/accuracy_variation.csv",
            caption="../report/accuracy_variation_table.rst",
            category="Tables",
            labels={"table": "accuracy variation (Fig. 4)"},
        ),
    log:
        "logs/analysis/accuracy_variation.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=config["analysis"]["names"],
    script:
        "../scripts/analysis_accuracy_variation.py"


rule aggregates:
    input:
        scratch="results/scratch_accuracy.csv",
        transfer="results/transfer_accuracy.csv",
    output:
        table=report(
            "results/analysis/aggregates.csv",
            caption="../report/aggregates_table.rst",
            category="Tables",
            labels={"table": "min / median / max per target (Fig. 5)"},
        ),
    log:
        "logs/analysis/aggregates.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=config["analysis"]["names"],
    script:
        "../scripts/analysis_aggregates.py"


rule dtw_vs_random:
    input:
        transfer="results/transfer_accuracy.csv",
        neighbours="results/similarity/neighbours.csv",
    output:
        table=report(
            "results/analysis/dtw_vs_random.csv",
            caption="../report/dtw_vs_random_table.rst",
            category="Tables",
            labels={"table": "DTW-nearest vs random source (Fig. 6)"},
        ),
    log:
        "logs/analysis/dtw_vs_random.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        draws=config["analysis"]["random_draws"],
        seed=config["seed"],
        names=config["analysis"]["names"],
    script:
        "../scripts/analysis_dtw_vs_random.py"


rule rank_curves:
    input:
        scratch="results/scratch_accuracy.csv",
        transfer="results/transfer_accuracy.csv",
        neighbours="results/similarity/neighbours.csv",
    output:
        table=report(
            "results/analysis/rank_curves.csv",
            caption="../report/rank_curves_table.rst",
            category="Tables",
            labels={"table": "accuracy vs neighbour rank (Figs 7-9)"},
        ),
    log:
        "logs/analysis/rank_curves.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        smoothing=config["analysis"]["rank_curve_smoothing"],
        names=config["analysis"]["names"],
    script:
        "../scripts/analysis_rank_curves.py"


# Beyond the paper: the source chosen by DTW, by each transferability score, at random and by
# the oracle, compared on the targets whose sources were fine-tuned (transfer_tsc.selection).
rule selection_methods:
    input:
        transfer="results/transfer_accuracy.csv",
        neighbours="results/similarity/neighbours.csv",
        scores="results/transferability/scores.csv",
    output:
        table=report(
            "results/analysis/selection_methods.csv",
            caption="../report/selection_methods_table.rst",
            category="Tables",
            labels={"table": "choosing the source: DTW, scores, random, oracle"},
        ),
        targets="results/analysis/selection_methods_by_target.csv",
    log:
        "logs/analysis/selection_methods.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        draws=config["analysis"]["random_draws"],
        seed=config["seed"],
        names=config["analysis"]["names"],
        counts=selection.Counts("results/analysis/selection_methods.csv"),
    script:
        "../scripts/analysis_selection_methods.py"


rule published_comparison:
    input:
        scratch="results/scratch_accuracy.csv",
        transfer="results/transfer_accuracy.csv",
        neighbours="results/similarity/neighbours.csv",
    output:
        table=report(
            "results/analysis/published_comparison.csv",
            caption="../report/published_comparison_table.rst",
            category="Tables",
            labels={"table": "ours vs the paper's published results"},
        ),
    log:
        "logs/analysis/published_comparison.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        shared=PAPER_SHARED,
        demo=DEMO,
        draws=config["analysis"]["random_draws"],
        seed=config["seed"],
        names=config["analysis"]["names"],
    script:
        "../scripts/analysis_published_comparison.py"


rule figure_accuracy_variation:
    input:
        table="results/analysis/accuracy_variation.csv",
        transfer="results/transfer_accuracy.csv",
    output:
        png=report(
            "results/analysis/accuracy_variation.png",
            caption="../report/accuracy_variation.rst",
            category="Figures",
            labels={"figure": "Fig. 4: accuracy variation"},
        ),
        svg="results/analysis/accuracy_variation.svg",
    log:
        "logs/analysis/figure_accuracy_variation.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        limit=config["analysis"]["heatmap_limit"],
    script:
        "../scripts/analysis_figure_accuracy_variation.py"


rule figure_aggregates:
    input:
        table="results/analysis/aggregates.csv",
        transfer="results/transfer_accuracy.csv",
    output:
        png=report(
            "results/analysis/aggregates.png",
            caption="../report/aggregates.rst",
            category="Figures",
            labels={"figure": "Fig. 5: min / median / max vs scratch"},
        ),
        svg="results/analysis/aggregates.svg",
    log:
        "logs/analysis/figure_aggregates.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/analysis_figure_aggregates.py"


rule figure_dtw_vs_random:
    input:
        table="results/analysis/dtw_vs_random.csv",
        transfer="results/transfer_accuracy.csv",
    output:
        png=report(
            "results/analysis/dtw_vs_random.png",
            caption="../report/dtw_vs_random.rst",
            category="Figures",
            labels={"figure": "Fig. 6: DTW-nearest vs random source"},
        ),
        svg="results/analysis/dtw_vs_random.svg",
    log:
        "logs/analysis/figure_dtw_vs_random.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        draws=config["analysis"]["random_draws"],
        second_nn_gain=config["analysis"]["second_nn_gain"],
    script:
        "../scripts/analysis_figure_dtw_vs_random.py"


rule figure_rank_curves:
    input:
        table="results/analysis/rank_curves.csv",
    output:
        png=report(
            "results/analysis/rank_curves.png",
            caption="../report/rank_curves.rst",
            category="Figures",
            labels={"figure": "Figs 7-9: accuracy vs neighbour rank"},
        ),
        svg="results/analysis/rank_curves.svg",
    log:
        "logs/analysis/figure_rank_curves.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        targets=config["analysis"]["rank_curve_targets"],
        smoothing=config["analysis"]["rank_curve_smoothing"],
        names=config["analysis"]["names"],
    script:
        "../scripts/analysis_figure_rank_curves.py"


rule figure_selection_methods:
    input:
        table="results/analysis/selection_methods.csv",
    output:
        png=report(
            "results/analysis/selection_methods.png",
            caption="../report/selection_methods.rst",
            category="Figures",
            labels={"figure": "choosing the source: regret and rank correlation"},
        ),
        svg="results/analysis/selection_methods.svg",
    log:
        "logs/analysis/figure_selection_methods.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        draws=config["analysis"]["random_draws"],
        counts=selection.Counts("results/analysis/selection_methods.csv"),
    script:
        "../scripts/analysis_figure_selection_methods.py"


rule figure_published_comparison:
    input:
        table="results/analysis/published_comparison.csv",
    output:
        png=report(
            "results/analysis/published_comparison.png",
            caption="../report/published_comparison.rst",
            category="Figures",
            labels={"figure": "scratch accuracy: ours vs published"},
        ),
        svg="results/analysis/published_comparison.svg",
    log:
        "logs/analysis/figure_published_comparison.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        shared=PAPER_SHARED,
    script:
        "../scripts/analysis_figure_published_comparison.py"


rule run_info:
    input:
        transfer="results/transfer_accuracy.csv",
    output:
        table=report(
            "results/analysis/run_info.csv",
            caption="../report/run_info.rst",
            category="Run information",
            labels={"table": "configuration, software versions, coverage"},
        ),
    log:
        "logs/analysis/run_info.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        config=config,
    script:
        "../scripts/analysis_run_info.py"
