# Transfer learning for time series classification (Ismail Fawaz et al., IEEE BigData 2018).
#
# UCR files -> pre-trained FCN per dataset -> fine-tuned FCN per (source, target) pair
#           -> per-class DBA prototypes -> DTW distance between datasets -> analyses and report.
import os


configfile: os.path.join(workflow.basedir, "config.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretrain.smk"
include: "rules/finetune.smk"


rule all:
    input:
        "results/scratch_accuracy.csv",
        "results/transfer_accuracy.csv",
    default_target: True
