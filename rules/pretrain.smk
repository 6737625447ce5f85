rule pretrain:
    input:
        unpack(dataset_files),
    output:
        model=kept("results/pretrain/{dataset}/model.h5"),
        history=kept("results/pretrain/{dataset}/history.csv"),
        metrics=kept("results/pretrain/{dataset}/metrics.csv"),
    log:
        "logs/pretrain/{dataset}.log",
    benchmark:
        "results/benchmarks/pretrain/{dataset}.tsv"
    conda:
        "../envs/training.yaml"
    threads: 2
    resources:
        mem_mb=training_mem_mb,
        runtime=training_runtime("pretrain"),
    params:
        recipe=PRETRAIN_RECIPE,
        data=config["data"],
        checkpoint="results/checkpoints/pretrain/{dataset}.h5",
    script:
        "../scripts/job.py"


rule scratch_accuracy:
    input:
        expand("results/pretrain/{dataset}/metrics.csv", dataset=DATASETS),
    output:
        kept("results/scratch_accuracy.csv"),
    log:
        "logs/scratch_accuracy.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/job.py"
