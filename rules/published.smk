# The paper's analyses on its own published results, with no training (results/published/):
# Figs 4-9 and the source-selection comparison from the published 85 x 84 fine-tuned accuracies
# and neighbour lists, the critical-difference diagram of the networks' published accuracies
# from scratch, and the table of the paper's claims; `snakemake published` makes them in
# seconds. With the study's FCN results, results/fcn/analysis/paper_claims.csv adds the claims
# as this run gives them. Every job is local (seconds; nothing to submit to a cluster) and
# writes tables and their figures together, in two jobs (the Fig. 4 heat map, the longest, and
# the rest), as each job starts Python, pandas and matplotlib anew, which takes longer than most
# of the analyses (transfer_tsc.workflow.jobs.published).


include: "helpers/published.smk"


rule published_accuracy_variation:
    input:
        transfer=PUBLISHED_TRANSFER,
        scratch=PUBLISHED_SCRATCH,
    output:
        table=published_report(
            "results/published/accuracy_variation.csv",
            "published_tables",
            "tables",
            table="accuracy variation (Fig. 4)",
        ),
        png=published_report(
            "results/published/accuracy_variation.png",
            "published_accuracy_variation",
            "figures",
            figure="Fig. 4: accuracy variation",
        ),
        svg=kept("results/published/accuracy_variation.svg"),
    log:
        "logs/published/accuracy_variation.log",
    priority: 1  # the longest job: started first
    localrule: True
    conda:
        ANALYSIS_ENV
    resources:
        **{**ANALYSIS_RESOURCES, "mem_mb": 2000},
    params:
        names=config["analysis"]["names"],
        limit=config["analysis"]["heatmap_limit"],
    script:
        "../scripts/job.py"


# Figs 5-9, the source-selection comparison, the networks' critical-difference diagram and the
# paper's claims in one job (each a second or less).
rule published_analyses:
    input:
        transfer=PUBLISHED_TRANSFER,
        scratch=PUBLISHED_SCRATCH,
        neighbours=PUBLISHED_NEIGHBOURS,
        networks=PUBLISHED_NETWORKS,
    output:
        aggregates=published_report(
            "results/published/aggregates.csv",
            "published_tables",
            "tables",
            table="min / median / max per target (Fig. 5)",
        ),
        aggregates_png=published_report(
            "results/published/aggregates.png",
            "published_aggregates",
            "figures",
            figure="Fig. 5: min / median / max vs scratch",
        ),
        aggregates_svg=kept("results/published/aggregates.svg"),
        dtw_vs_random=published_report(
            "results/published/dtw_vs_random.csv",
            "published_tables",
            "tables",
            table="DTW-nearest vs random source (Fig. 6)",
        ),
        dtw_vs_random_png=published_report(
            "results/published/dtw_vs_random.png",
            "published_dtw_vs_random",
            "figures",
            figure="Fig. 6: DTW-nearest vs random source",
        ),
        dtw_vs_random_svg=kept("results/published/dtw_vs_random.svg"),
        rank_curves=published_report(
            "results/published/rank_curves.csv",
            "published_tables",
            "tables",
            table="accuracy vs neighbour rank (Figs 7-9)",
        ),
        rank_curves_png=published_report(
            "results/published/rank_curves.png",
            "published_rank_curves",
            "figures",
            figure="Figs 7-9: accuracy vs neighbour rank",
        ),
        rank_curves_svg=kept("results/published/rank_curves.svg"),
        selection_methods=published_report(
            "results/published/selection_methods.csv",
            "published_tables",
            "tables",
            table="choosing the source: DTW, random, oracle",
        ),
        selection_methods_by_target=kept("results/published/selection_methods_by_target.csv"),
        selection_methods_png=published_report(
            "results/published/selection_methods.png",
            "published_selection_methods",
            "figures",
            figure="choosing the source: DTW, random, oracle",
        ),
        selection_methods_svg=kept("results/published/selection_methods.svg"),
        networks_scratch=published_report(
            "results/published/networks_scratch.csv",
            "published_critical_difference_table",
            "tables",
            table="networks from scratch: accuracy per dataset",
        ),
        critical_difference=published_report(
            "results/published/critical_difference.csv",
            "published_critical_difference_table",
            "tables",
            table="networks from scratch: average ranks, Wilcoxon-Holm pairs",
        ),
        critical_difference_png=published_report(
            "results/published/critical_difference.png",
            "published_critical_difference",
            "figures",
            figure="networks from scratch: critical difference",
        ),
        critical_difference_svg=kept("results/published/critical_difference.svg"),
        claims=published_report(
            "results/published/paper_claims.csv",
            "published_claims",
            "tables",
            table="the paper's claims: stated and published",
        ),
    log:
        "logs/published/analyses.log",
    localrule: True
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        **CLAIMS_PARAMS,
        second_nn_gain=config["analysis"]["second_nn_gain"],
        note=f"results/published/ reads the published files only; with the study's results "
        f"{study_folder(PAPER_NETWORK)}/analysis/paper_claims.csv adds this run's",
    script:
        "../scripts/job.py"


# The claims as the study's own FCN results give them, on the paper's datasets it has (the
# paper trains the FCN only).
rule paper_claims:
    input:
        scratch=SCRATCH,
        transfer=TRANSFER,
        neighbours=NEIGHBOURS,
        published=[PUBLISHED_TRANSFER, PUBLISHED_SCRATCH, PUBLISHED_NEIGHBOURS],
    output:
        table=report(
            kept("results/{network}/analysis/paper_claims.csv"),
            caption="../report/published_claims.rst",
            category="Tables",
            subcategory="{network}",
            labels={"table": "the paper's claims: stated, published, this run"},
        ),
    log:
        "logs/{network}/analysis/paper_claims.log",
    wildcard_constraints:
        network=PAPER_NETWORK,
    localrule: True
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        **CLAIMS_PARAMS,
        shared=paper_shared,
        demo=DEMO,
    script:
        "../scripts/job.py"


# `snakemake published`: the published results' analyses alone (no training, seconds).
rule published:
    input:
        published_products(),
    localrule: True
