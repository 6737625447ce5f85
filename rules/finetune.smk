checkpoint select_sources:
    input:
        **(
            {"neighbours": "results/similarity/neighbours.csv"}
            if BUDGET == "nearest"
            else {}
        ),
    output:
        selection="results/finetune/selection.csv",
    log:
        "logs/select_sources.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        sources=config["finetune"]["sources"],
        datasets=DATASETS,
        seed=config["seed"],
    script:
        "../scripts/select_sources.py"


rule finetune_batch:
    input:
        unpack(target_files),
        sources=batch_models,
    output:
        directory("results/finetune_batches/{target}/{batch}"),
    log:
        "logs/finetune/{target}/{batch}.log",
    benchmark:
        "benchmarks/out/finetune/{target}/{batch}.tsv"
    conda:
        "../envs/training.yaml"
    threads: 2
    resources:
        mem_mb=training_mem_mb,
        runtime=training_runtime(
            "finetune", lambda wildcards: len(batch_sources(wildcards))
        ),
    params:
        sources=batch_sources,
        recipe=FINETUNE_RECIPE,
        data=config["data"],
        save_models=config["finetune"]["save_models"],
        checkpoint="results/checkpoints/finetune/{target}/{batch}.h5",
    script:
        "../scripts/finetune_batch.py"


rule finetune_pair:
    input:
        batch=pair_batch,
    output:
        **(
            {"model": "results/finetune/{source}/{target}/model.h5"}
            if config["finetune"]["save_models"]
            else {}
        ),
        metrics="results/finetune/{source}/{target}/metrics.csv",
        history="results/finetune/{source}/{target}/history.csv",
    log:
        "logs/finetune_pair/{source}/{target}.log",
    localrule: True
    run:
        study.link_pair_outputs(input.batch, wildcards.source, output)


rule transfer_accuracy:
    input:
        pair_files("metrics.csv"),
    output:
        "results/transfer_accuracy.csv",
    log:
        "logs/transfer_accuracy.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        datasets=DATASETS,
    script:
        "../scripts/transfer_accuracy.py"
