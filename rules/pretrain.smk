rule pretrain:
    input:
        unpack(dataset_files),
    output:
        model=kept("results/{network}/pretrain/{dataset}/model.h5"),
        history=kept("results/{network}/pretrain/{dataset}/history.csv"),
        metrics=kept("results/{network}/pretrain/{dataset}/metrics.csv"),
    log:
        "logs/{network}/pretrain/{dataset}.log",
    benchmark:
        "results/benchmarks/{network}/pretrain/{dataset}.tsv"
    conda:
        "../envs/training.yaml"
    threads: 2
    resources:
        mem_mb=training_mem_mb,
        runtime=training_runtime("pretrain"),
    params:
        recipe=PRETRAIN_RECIPE,
        data=config["data"],
        checkpoint="results/checkpoints/{network}/pretrain/{dataset}.h5",
    script:
        "../scripts/job.py"


rule scratch_accuracy:
    input:
        expand("results/{{network}}/pretrain/{dataset}/metrics.csv", dataset=DATASETS),
    output:
        kept("results/{network}/scratch_accuracy.csv"),
    log:
        "logs/{network}/scratch_accuracy.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/job.py"
