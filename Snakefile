# Transfer learning for time series classification (Ismail Fawaz et al., IEEE BigData 2018).
#
# UCR files -> pre-trained FCN per dataset -> fine-tuned FCN per (source, target) pair
#           -> per-class DBA prototypes -> DTW distance between datasets -> analyses and report;
#           pre-trained FCNs x each target's train split -> transferability scores (beyond the paper).
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


# A damaged pre-trained model or prototypes file is made again (rules/common.smk).
remake_damaged(study_products())


rule all:
    default_target: True
    input:
        study_products(),
        "results/scratch_accuracy.csv",
        "results/transfer_accuracy.csv",
        "results/similarity/dtw_distance.csv",
        "results/similarity/neighbours.csv",
        "results/transferability/scores.csv",
        expand(
            "results/analysis/{table}.csv",
            table=[
                "accuracy_variation",
                "aggregates",
                "dtw_vs_random",
                "rank_curves",
                "published_comparison",
                "selection_methods",
                "run_info",
            ],
        ),
        expand(
            "results/analysis/{figure}.{ext}",
            figure=[
                "accuracy_variation",
                "aggregates",
                "dtw_vs_random",
                "rank_curves",
                "published_comparison",
                "selection_methods",
            ],
            ext=["png", "svg"],
        ),
