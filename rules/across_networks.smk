# Beyond the paper: is transfer independent of the network (section III-A)? With two or more
# networks in the study, per target the rank correlation of their gains over the same sources,
# how often the signs agree, and the DTW-nearest source's gain under each
# (transfer_tsc.report.across_networks). With one network or more, scratch against transfer from
# the DTW-nearest source for every network, as a critical-difference diagram
# (transfer_tsc.report.critical_difference).


rule across_networks:
    input:
        scratch=per_network("results/{network}/scratch_accuracy.csv"),
        transfer=per_network("results/{network}/transfer_accuracy.csv"),
        neighbours=rules.dtw_neighbours.output.neighbours,
    output:
        table=report(
            kept("results/across_networks/agreement.csv"),
            caption="../report/across_networks_table.rst",
            category="Across networks",
            labels={"table": "per target: agreement of the networks' gains"},
        ),
        summary=report(
            kept("results/across_networks/agreement_summary.csv"),
            caption="../report/across_networks_table.rst",
            category="Across networks",
            labels={"table": "per network pair: summary"},
        ),
        png=report(
            kept("results/across_networks/agreement.png"),
            caption="../report/across_networks.rst",
            category="Across networks",
            labels={"figure": "gains under one network against another"},
        ),
        svg=kept("results/across_networks/agreement.svg"),
    log:
        "logs/across_networks.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        networks=NETWORKS,
        names=config["analysis"]["names"],
    script:
        "../scripts/job.py"


rule critical_difference_networks:
    input:
        scratch=per_network(SCRATCH),
        dtw=per_network(rules.dtw_vs_random.output.table),
    output:
        table=report(
            kept("results/critical_difference_networks.csv"),
            caption="../report/critical_difference_table.rst",
            category="Tables",
            subcategory="networks",
            labels={"table": "critical difference: scratch vs transfer (DTW), per network"},
        ),
        png=report(
            kept("results/critical_difference_networks.png"),
            caption="../report/critical_difference_networks.rst",
            category="Figures",
            subcategory="networks",
            labels={"figure": "critical difference: scratch vs transfer (DTW), per network"},
        ),
        svg=kept("results/critical_difference_networks.svg"),
    log:
        "logs/critical_difference_networks.log",
    conda:
        ANALYSIS_ENV
    resources:
        **ANALYSIS_RESOURCES,
    params:
        networks=NETWORKS,
        names=config["analysis"]["names"],
    script:
        "../scripts/job.py"
