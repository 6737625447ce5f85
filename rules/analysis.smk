# The paper's analyses (section V): tables from the gathered results, figures from the tables,
# and the run's provenance, all marked for `snakemake --report`.


include: "helpers/analysis.smk"


# Every analysis job: the analysis environment, a small machine, minutes.
ANALYSIS_ENV = "../envs/analysis.yaml"
ANALYSIS_RESOURCES = {"mem_mb": 1000, "runtime": 10}


# The gathered results the analyses read, as their rules name them.
SCRATCH = rules.scratch_accuracy.output.table
TRANSFER = rules.transfer_accuracy.output.table
NEIGHBOURS = rules.dtw_neighbours.output.neighbours


rule accuracy_variation:
    input:
        scratch=SCRATCH,
        transfer=TRANSFER,
    output:
        table=report(
            kept("results/{network}/analysis/accuracy_variation.csv"),
            caption="../report/accuracy_variation_table.rst",
            category="Tables",
            subcategory="{network}",
            labels={"table": "accuracy variation (Fig. 4)"},
        ),
    log:
        "logs/{network}/analysis/accuracy_variation.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        names=config["analysis"]["names"],
    script:
        "../scripts/job.py"


rule aggregates:
    input:
        **run_inputs("scratch", "transfer"),
        scratch=SCRATCH,
        transfer=TRANSFER,
    output:
        table=report(
            kept("results/{network}/analysis/aggregates.csv"),
            caption="../report/aggregates_table.rst",
            category="Tables",
            subcategory="{network}",
            labels={"table": "min / median / max per target (Fig. 5)"},
        ),
    log:
        "logs/{network}/analysis/aggregates.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        names=config["analysis"]["names"],
    script:
        "../scripts/job.py"


rule dtw_vs_random:
    input:
        **run_inputs("transfer"),
        transfer=TRANSFER,
        neighbours=NEIGHBOURS,
    output:
        table=report(
            kept("results/{network}/analysis/dtw_vs_random.csv"),
            caption="../report/dtw_vs_random_table.rst",
            category="Tables",
            subcategory="{network}",
            labels={"table": "DTW-nearest vs random source (Fig. 6)"},
        ),
    log:
        "logs/{network}/analysis/dtw_vs_random.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        draws=config["analysis"]["random_draws"],
        seed=config["seed"],
        names=config["analysis"]["names"],
    script:
        "../scripts/job.py"


rule rank_curves:
    input:
        scratch=SCRATCH,
        transfer=TRANSFER,
        neighbours=NEIGHBOURS,
    output:
        table=report(
            kept("results/{network}/analysis/rank_curves.csv"),
            caption="../report/rank_curves_table.rst",
            category="Tables",
            subcategory="{network}",
            labels={"table": "accuracy vs neighbour rank (Figs 7-9)"},
        ),
    log:
        "logs/{network}/analysis/rank_curves.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        smoothing=config["analysis"]["rank_curve_smoothing"],
        names=config["analysis"]["names"],
    script:
        "../scripts/job.py"


# Beyond the paper: the source chosen by DTW, by each transferability score, at random and by
# the oracle, compared on the targets whose sources were fine-tuned (transfer_tsc.report.selection).
rule selection_methods:
    input:
        **run_inputs("transfer"),
        transfer=TRANSFER,
        neighbours=NEIGHBOURS,
        scores=rules.transferability_scores.output.table,
    output:
        table=report(
            kept("results/{network}/analysis/selection_methods.csv"),
            caption="../report/selection_methods_table.rst",
            category="Tables",
            subcategory="{network}",
            labels={"table": "choosing the source: DTW, scores, random, oracle"},
        ),
        targets=kept("results/{network}/analysis/selection_methods_by_target.csv"),
    log:
        "logs/{network}/analysis/selection_methods.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        draws=config["analysis"]["random_draws"],
        seed=config["seed"],
        names=config["analysis"]["names"],
        counts=selection_counts,
    script:
        "../scripts/job.py"


rule published_comparison:
    input:
        scratch=SCRATCH,
        transfer=TRANSFER,
        neighbours=NEIGHBOURS,
    output:
        table=report(
            kept("results/{network}/analysis/published_comparison.csv"),
            caption="../report/published_comparison_table.rst",
            category="Tables",
            subcategory="{network}",
            labels={"table": "ours vs the paper's published results"},
        ),
    log:
        "logs/{network}/analysis/published_comparison.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        shared=paper_shared,
        demo=DEMO,
        draws=config["analysis"]["random_draws"],
        seed=config["seed"],
        names=config["analysis"]["names"],
    script:
        "../scripts/job.py"


rule figure_accuracy_variation:
    input:
        **run_inputs("transfer"),
        table=rules.accuracy_variation.output.table,
        transfer=TRANSFER,
    output:
        png=report(
            kept("results/{network}/analysis/accuracy_variation.png"),
            caption="../report/accuracy_variation.rst",
            category="Figures",
            subcategory="{network}",
            labels={"figure": "Fig. 4: accuracy variation"},
        ),
        svg=kept("results/{network}/analysis/accuracy_variation.svg"),
    log:
        "logs/{network}/analysis/figure_accuracy_variation.log",
    conda:
        ANALYSIS_ENV
    resources:
        **{**ANALYSIS_RESOURCES, "mem_mb": 2000},
    params:
        limit=config["analysis"]["heatmap_limit"],
    script:
        "../scripts/job.py"


rule figure_aggregates:
    input:
        table=rules.aggregates.output.table,
        transfer=TRANSFER,
    output:
        png=report(
            kept("results/{network}/analysis/aggregates.png"),
            caption="../report/aggregates.rst",
            category="Figures",
            subcategory="{network}",
            labels={"figure": "Fig. 5: min / median / max vs scratch"},
        ),
        svg=kept("results/{network}/analysis/aggregates.svg"),
    log:
        "logs/{network}/analysis/figure_aggregates.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    script:
        "../scripts/job.py"


rule figure_dtw_vs_random:
    input:
        table=rules.dtw_vs_random.output.table,
        transfer=TRANSFER,
    output:
        png=report(
            kept("results/{network}/analysis/dtw_vs_random.png"),
            caption="../report/dtw_vs_random.rst",
            category="Figures",
            subcategory="{network}",
            labels={"figure": "Fig. 6: DTW-nearest vs random source"},
        ),
        svg=kept("results/{network}/analysis/dtw_vs_random.svg"),
    log:
        "logs/{network}/analysis/figure_dtw_vs_random.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        draws=config["analysis"]["random_draws"],
        second_nn_gain=config["analysis"]["second_nn_gain"],
    script:
        "../scripts/job.py"


rule figure_rank_curves:
    input:
        table=rules.rank_curves.output.table,
    output:
        png=report(
            kept("results/{network}/analysis/rank_curves.png"),
            caption="../report/rank_curves.rst",
            category="Figures",
            subcategory="{network}",
            labels={"figure": "Figs 7-9: accuracy vs neighbour rank"},
        ),
        svg=kept("results/{network}/analysis/rank_curves.svg"),
    log:
        "logs/{network}/analysis/figure_rank_curves.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        targets=config["analysis"]["rank_curve_targets"],
        smoothing=config["analysis"]["rank_curve_smoothing"],
        names=config["analysis"]["names"],
    script:
        "../scripts/job.py"


rule figure_selection_methods:
    input:
        table=rules.selection_methods.output.table,
    output:
        png=report(
            kept("results/{network}/analysis/selection_methods.png"),
            caption="../report/selection_methods.rst",
            category="Figures",
            subcategory="{network}",
            labels={"figure": "choosing the source: regret and rank correlation"},
        ),
        svg=kept("results/{network}/analysis/selection_methods.svg"),
    log:
        "logs/{network}/analysis/figure_selection_methods.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        draws=config["analysis"]["random_draws"],
        counts=selection_counts,
    script:
        "../scripts/job.py"


# The source-selection methods and training from scratch ranked over the targets, with pairwise
# Wilcoxon signed-rank tests and Holm's correction (transfer_tsc.report.critical_difference).
rule critical_difference_selection:
    input:
        targets=rules.selection_methods.output.targets,
        scratch=SCRATCH,
    output:
        table=report(
            kept("results/{network}/analysis/critical_difference_selection.csv"),
            caption="../report/critical_difference_table.rst",
            category="Tables",
            subcategory="{network}",
            labels={"table": "critical difference: choosing the source, scratch"},
        ),
        png=report(
            kept("results/{network}/analysis/critical_difference_selection.png"),
            caption="../report/critical_difference_selection.rst",
            category="Figures",
            subcategory="{network}",
            labels={"figure": "critical difference: choosing the source, scratch"},
        ),
        svg=kept("results/{network}/analysis/critical_difference_selection.svg"),
    log:
        "logs/{network}/analysis/critical_difference_selection.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        names=config["analysis"]["names"],
    script:
        "../scripts/job.py"


rule figure_published_comparison:
    input:
        table=rules.published_comparison.output.table,
    output:
        png=report(
            kept("results/{network}/analysis/published_comparison.png"),
            caption="../report/published_comparison.rst",
            category="Figures",
            subcategory="{network}",
            labels={"figure": "scratch accuracy: ours vs published"},
        ),
        svg=kept("results/{network}/analysis/published_comparison.svg"),
    log:
        "logs/{network}/analysis/figure_published_comparison.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        shared=paper_shared,
    script:
        "../scripts/job.py"


rule run_info:
    input:
        transfer=TRANSFER,
    output:
        table=report(
            kept("results/{network}/analysis/run_info.csv"),
            caption="../report/run_info.rst",
            category="Run information",
            subcategory="{network}",
            labels={"table": "configuration, software versions, coverage"},
        ),
    log:
        "logs/{network}/analysis/run_info.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        config=settings.result_config(config),
    script:
        "../scripts/job.py"
