rule pretrain:
    input:
        unpack(dataset_files),
    output:
        model="results/pretrain/{dataset}/model.h5",
        history="results/pretrain/{dataset}/history.csv",
        metrics="results/pretrain/{dataset}/metrics.csv",
    params:
        recipe=PRETRAIN_RECIPE,
        data=config["data"],
        checkpoint="results/checkpoints/pretrain/{dataset}.h5",
    log:
        "logs/pretrain/{dataset}.log",
    benchmark:
        "benchmarks/out/pretrain/{dataset}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/pretrain.py"


rule scratch_accuracy:
    input:
        expand("results/pretrain/{dataset}/metrics.csv", dataset=DATASETS),
    output:
        "results/scratch_accuracy.csv",
    log:
        "logs/scratch_accuracy.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/scratch_accuracy.py"
