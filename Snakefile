# Transfer learning for time series classification (Ismail Fawaz et al., IEEE BigData 2018).
#
# UCR files -> per network (config networks: the paper's FCN, ResNet, Inception), under
#           results/<network>/: pre-trained model per dataset -> fine-tuned model per (source,
#           target) pair -> analyses and report; pre-trained models x each target's train split
#           -> transferability scores (beyond the paper);
#        -> per-class DBA prototypes -> DTW distance between datasets (shared by the networks);
#        -> with two or more networks: the agreement of their gains (results/across_networks/).
# The paper's published results (src/transfer_tsc/published/) -> its analyses and claims, with no
#           training (results/published/; `snakemake published`).
import os
import sys

# The jobs (scripts/job.py) and this Snakefile use the package from src/ (also when it is not
# pip-installed, e.g. inside the per-rule conda environments of envs/).
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [os.path.join(workflow.basedir, "src"), os.getenv("PYTHONPATH")])
    )
)


configfile: os.path.join(workflow.basedir, "config.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretrain.smk"
include: "rules/finetune.smk"
include: "rules/similarity.smk"
include: "rules/transferability.smk"
include: "rules/analysis.smk"
include: "rules/recommend.smk"
include: "rules/across_networks.smk"
include: "rules/published.smk"


# A damaged pre-trained model or prototypes file is made again (rules/common.smk).
remake_damaged(study_products())


rule all:
    default_target: True
    input:
        study_products(),
        "results/similarity/dtw_distance.csv",
        "results/similarity/neighbours.csv",
        per_network("results/{network}/scratch_accuracy.csv"),
        per_network("results/{network}/transfer_accuracy.csv"),
        run_table_products(),
        per_network("results/{network}/transferability/scores.csv"),
        per_network(
            expand(
                "results/{{network}}/analysis/{table}.csv",
                table=[
                    "accuracy_variation",
                    "aggregates",
                    "dtw_vs_random",
                    "rank_curves",
                    "published_comparison",
                    "selection_methods",
                    "critical_difference_selection",
                    "run_info",
                ],
            )
        ),
        per_network(
            expand(
                "results/{{network}}/analysis/{figure}.{ext}",
                figure=[
                    "accuracy_variation",
                    "aggregates",
                    "dtw_vs_random",
                    "rank_curves",
                    "published_comparison",
                    "selection_methods",
                    "critical_difference_selection",
                ],
                ext=["png", "svg"],
            )
        ),
        across_networks_products(),
        critical_difference_products(),
        published_targets(),
