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
    params:
        sources=batch_sources,
        recipe=FINETUNE_RECIPE,
        data=config["data"],
        save_models=config["finetune"]["save_models"],
        checkpoint="results/checkpoints/finetune/{target}/{batch}.h5",
    log:
        "logs/finetune/{target}/{batch}.log",
    benchmark:
        "benchmarks/out/finetune/{target}/{batch}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/finetune_batch.py"


rule finetune_pair:
    input:
        batch=pair_batch,
    output:
        metrics="results/finetune/{source}/{target}/metrics.csv",
        history="results/finetune/{source}/{target}/history.csv",
        **(
            {"model": "results/finetune/{source}/{target}/model.h5"}
            if config["finetune"]["save_models"]
            else {}
        ),
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
    params:
        datasets=DATASETS,
    log:
        "logs/transfer_accuracy.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/transfer_accuracy.py"
