# For a user's own dataset (config recommend.dataset, a UCR-layout folder <Name>): the study's
# datasets ranked by the paper's DTW distance to it (sections III-C, V-C), and with
# recommend.finetune the top ones fine-tuned on it next to training from scratch. And the model
# zoo: the study's pre-trained models and prototypes as one checksummed folder / archive.
# With recommend.score other than dtw, every source's pre-trained model is scored on the
# dataset's train split and the table is ordered by that score.


include: "helpers/recommend.smk"


checkpoint recommend_ranking:
    input:
        unpack(recommend_files),
        prototypes=expand("results/prototypes/{dataset}.h5", dataset=RECOMMEND_SOURCES),
    output:
        ranking=kept("results/{network}/recommend/{name}/ranking.csv"),
    log:
        "logs/{network}/recommend/{name}_ranking.log",
    wildcard_constraints:
        name=RECOMMEND_PATTERN,
    conda:
        "../envs/similarity.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        data=config["data"],
    script:
        "../scripts/job.py"


rule recommend:
    input:
        unpack(recommend_files),
        ranking="results/{network}/recommend/{name}/ranking.csv",
        # with a transferability score every source's model, else the top ones to fine-tune
        models=lambda wildcards: (
            [pretrained_model(wildcards.network, s) for s in RECOMMEND_SOURCES]
            if RECOMMEND["score"] != "dtw"
            else recommend_models(wildcards)
        ),
    output:
        table=report(
            kept("results/{network}/recommend/{name}/recommendations.csv"),
            caption="../report/recommendations.rst",
            category="Recommendation",
            labels={"network": "{network}", "dataset": "{name}"},
        ),
    log:
        "logs/{network}/recommend/{name}.log",
    wildcard_constraints:
        name=RECOMMEND_PATTERN,
    conda:
        "../envs/training.yaml"
    threads: 2
    resources:
        mem_mb=training_mem_mb,
        runtime=training_runtime("finetune", lambda wildcards: RECOMMEND["top"] + 1),
    params:
        top=RECOMMEND["top"],
        finetune=RECOMMEND["finetune"],
        score=RECOMMEND["score"],
        recipe=FINETUNE_RECIPE,
        data=config["data"],
    script:
        "../scripts/job.py"


rule export_zoo:
    input:
        # run 1's with config runs above 1
        models=expand(
            first_run("results/{{network}}/pretrain/{dataset}/model.h5"), dataset=DATASETS
        ),
        metrics=expand(
            first_run("results/{{network}}/pretrain/{dataset}/metrics.csv"), dataset=DATASETS
        ),
        prototypes=expand("results/prototypes/{dataset}.h5", dataset=DATASETS),
    output:
        zoo=kept(directory("results/{network}/zoo")),
    log:
        "logs/{network}/export_zoo.log",
    conda:
        "../envs/training.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        config=config,
        files=lambda wildcards: {name: split_paths(name) for name in DATASETS},
    script:
        "../scripts/job.py"


rule zoo_archive:
    input:
        zoo="results/{network}/zoo",
    output:
        archive=kept("results/{network}/zoo.tar.gz"),
    log:
        "logs/{network}/zoo_archive.log",
    conda:
        "../envs/similarity.yaml"
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/job.py"
