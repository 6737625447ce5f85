# Inter-dataset similarity, the paper's Algorithm 1 (section III-C): one DBA prototype per class
# (train split, medoid start, dtw.dba_iterations), the dataset x dataset matrix of the minimum
# squared DTW between prototypes, and every target's sources ranked nearest first.
#
# The DAG stays small: one prototypes job per dataset and one job for the whole matrix, not one
# per pair (85 datasets would make 3570 jobs). The matrix job keeps a cache of pair distances,
# results/similarity/cache/pairs.csv, keyed by the two datasets' prototype content digests and
# the window, and computes only the pairs the cache lacks: adding a dataset to the config runs
# its prototypes job and computes its new pairs only; recomputed but identical prototypes cost
# nothing; a new window (a params change, so every prototypes job re-runs) recomputes all.
# Every output records the window (HDF5 attributes, JSON sidecars of the two CSV files).
SIMILARITY_CACHE = "results/similarity/cache/pairs.csv"


rule prototypes:
    input:
        unpack(dataset_files),
    output:
        kept("results/prototypes/{dataset}.h5"),
    log:
        "logs/prototypes/{dataset}.log",
    benchmark:
        "results/benchmarks/prototypes/{dataset}.tsv"
    conda:
        "../envs/similarity.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        window=config["dtw"]["window"],
        iterations=config["dtw"]["dba_iterations"],
        data=config["data"],
    script:
        "../scripts/job.py"


rule dtw_distance:
    input:
        expand("results/prototypes/{dataset}.h5", dataset=DATASETS),
    output:
        matrix=kept("results/similarity/dtw_distance.csv"),
        settings=kept("results/similarity/dtw_distance.json"),
    log:
        "logs/similarity/dtw_distance.log",
    benchmark:
        "results/benchmarks/similarity/dtw_distance.tsv"
    conda:
        "../envs/similarity.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        window=config["dtw"]["window"],
        cache=SIMILARITY_CACHE,
    script:
        "../scripts/job.py"


rule dtw_neighbours:
    input:
        matrix="results/similarity/dtw_distance.csv",
        settings="results/similarity/dtw_distance.json",
    output:
        neighbours=kept("results/similarity/neighbours.csv"),
        settings=kept("results/similarity/neighbours.json"),
    log:
        "logs/similarity/neighbours.log",
    localrule: True
    conda:
        "../envs/similarity.yaml"
    script:
        "../scripts/job.py"
