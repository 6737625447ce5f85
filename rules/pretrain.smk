rule pretrain:
    input:
        unpack(dataset_files),
    output:
        # every run's files (config runs; in run<r> folders above 1): the runs train together
        **trained_outputs(
            "results/{network}/pretrain/{dataset}",
            model="model.h5",
            history="history.csv",
            metrics="metrics.csv",
        ),
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
        runs=RUNS,
        checkpoint="results/checkpoints/{network}/pretrain/{dataset}.h5",
    script:
        "../scripts/job.py"


rule scratch_accuracy:
    input:
        metrics=expand(
            run_paths("results/{{network}}/pretrain/{dataset}/metrics.csv"), dataset=DATASETS
        ),
        probabilities=expand(
            (
                run_paths("results/{{network}}/pretrain/{dataset}/test_probabilities.csv")
                if ENSEMBLE
                else []
            ),
            dataset=DATASETS,
        ),
    output:
        **run_tables("results/{network}/scratch_accuracy"),
        # the mean over the runs; with runs above 1, the per-run table and the spread
        table=kept("results/{network}/scratch_accuracy.csv"),
    log:
        "logs/{network}/scratch_accuracy.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        runs=RUNS,
        seed=config["seed"],
    script:
        "../scripts/job.py"
