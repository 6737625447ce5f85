# Beyond the paper: choosing a source without fine-tuning. One forward pass of a target's train
# split through every pre-trained source model (inference mode) gives each source's softmax
# outputs and global-average-pooling features on the target, from which transfer_tsc.
# transferability computes LEEP, NCE, LogME and H-score. The target's test split is never read.


rule transferability:
    input:
        train=target_train_file,
        models=lambda wildcards: [
            pretrained_model(wildcards.network, source) for source in scored_sources(wildcards)
        ],
    output:
        table=kept("results/{network}/transferability/{target}.csv"),
    log:
        "logs/{network}/transferability/{target}.log",
    benchmark:
        "results/benchmarks/{network}/transferability/{target}.tsv"
    conda:
        "../envs/training.yaml"
    threads: 2
    resources:
        mem_mb=training_mem_mb,
        runtime=30,
    params:
        sources=scored_sources,
        data=config["data"],
    script:
        "../scripts/job.py"


rule transferability_scores:
    input:
        expand("results/{{network}}/transferability/{target}.csv", target=DATASETS),
    output:
        table=kept("results/{network}/transferability/scores.csv"),
    log:
        "logs/{network}/transferability/scores.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/job.py"
