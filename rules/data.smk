rule demo_dataset:
    output:
        train=f"{settings.DEMO_ROOT}/{{dataset}}/{{dataset}}_TRAIN.tsv",
        test=f"{settings.DEMO_ROOT}/{{dataset}}/{{dataset}}_TEST.tsv",
    log:
        "logs/demo/{dataset}.log",
    wildcard_constraints:
        dataset=_one_of(DEMO_DATASETS),
    conda:
        "../envs/analysis.yaml"
    params:
        seed=config["seed"],
    script:
        "../scripts/job.py"
