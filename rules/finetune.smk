# Fine-tuning (section III-B): which sources each target gets (finetune.sources), how they are
# grouped into jobs (finetune.group_size), and the pair files the analyses gather.


include: "helpers/finetune.smk"


checkpoint select_sources:
    input:
        **plan.selection_inputs(BUDGET),
    output:
        selection=kept("results/{network}/finetune/selection.csv"),
    log:
        "logs/{network}/select_sources.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        sources=config["finetune"]["sources"],
        datasets=DATASETS,
        seed=config["seed"],
    script:
        "../scripts/job.py"


# finetune.group_size 1 (auto on CPU): one job per (source, target) pair writes the pair's files.
# Above 1, or auto on a GPU (rules/common.smk): one job trains a batch of sources on a target
# together (the batched engine) into a folder, and a local job per pair publishes the pair's
# files from it (hard links).
if not BATCHED:

    rule finetune:
        input:
            unpack(target_files),
            sources=pair_source_model,
        output:
            **pair_outputs("results/{network}/finetune/{source}/{target}"),
        log:
            "logs/{network}/finetune/{target}/{source}.log",
        benchmark:
            "results/benchmarks/{network}/finetune/{target}/{source}.tsv"
        conda:
            "../envs/training.yaml"
        threads: 2
        resources:
            mem_mb=training_mem_mb,
            runtime=training_runtime("finetune"),
        params:
            sources=lambda wildcards: [wildcards.source],
            source_models=pair_source_models,
            recipe=FINETUNE_RECIPE,
            data=config["data"],
            runs=RUNS,
            checkpoint="results/checkpoints/{network}/finetune/{target}/{source}.h5",
        script:
            "../scripts/job.py"

else:

    rule finetune_batch:
        input:
            unpack(target_files),
            sources=batch_models,
        output:
            batch=kept(directory("results/{network}/finetune_batches/{target}/{batch}")),
        log:
            "logs/{network}/finetune/{target}/{batch}.log",
        benchmark:
            "results/benchmarks/{network}/finetune/{target}/{batch}.tsv"
        conda:
            "../envs/training.yaml"
        threads: 2
        resources:
            mem_mb=training_mem_mb,
            runtime=training_runtime("finetune", lambda wildcards: len(batch_sources(wildcards))),
        params:
            sources=batch_sources,
            source_models=batch_source_models,
            recipe=FINETUNE_RECIPE,
            data=config["data"],
            save_models=config["finetune"]["save_models"],
            runs=RUNS,
            ensemble=ENSEMBLE,
            checkpoint="results/checkpoints/{network}/finetune/{target}/{batch}.h5",
        script:
            "../scripts/job.py"

    rule finetune_pair:
        input:
            batch=pair_batch,
        output:
            **pair_outputs("results/{network}/finetune/{source}/{target}"),
        log:
            "logs/{network}/finetune_pair/{source}/{target}.log",
        localrule: True
        conda:
            "../envs/coreutils.yaml"
        params:
            folder="results/{network}/finetune/{source}/{target}/",
        # a hard link per file (a copy where the file system has none), each run's from its
        # run<r> folder; a shell command, not run: (Snakemake runs each run: job in a Snakemake
        # process of its own, which re-reads the Snakefile: seconds per pair)
        shell:
            "for path in {output:q}; do"
            ' origin={input.batch:q}/{wildcards.source:q}/"${{path#{params.folder}}}";'
            ' ln -f "$origin" "$path" 2>> {log:q} || cp -f "$origin" "$path";'
            " done"


rule transfer_accuracy:
    input:
        # run 1's of each pair; the job reads every run's (plan.every_run)
        metrics=pair_files("metrics.csv"),
        probabilities=pair_files("test_probabilities.csv") if ENSEMBLE else [],
    output:
        **run_tables("results/{network}/transfer_accuracy"),
        # the mean over the runs; with runs above 1, the per-run table and the spread
        table=kept("results/{network}/transfer_accuracy.csv"),
    log:
        "logs/{network}/transfer_accuracy.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        datasets=DATASETS,
        runs=RUNS,
        seed=config["seed"],
    script:
        "../scripts/job.py"
