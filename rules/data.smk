rule demo_dataset:
    output:
        train=f"{settings.DEMO_ROOT}/{{dataset}}/{{dataset}}_TRAIN.tsv",
        test=f"{settings.DEMO_ROOT}/{{dataset}}/{{dataset}}_TEST.tsv",
    wildcard_constraints:
        dataset=_one_of(DEMO_DATASETS),
    params:
        root=settings.DEMO_ROOT,
        seed=config["seed"],
    log:
        "logs/demo/{dataset}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/demo_dataset.py"
