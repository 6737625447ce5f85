# Helpers of rules/recommend.smk: the user's dataset, its files and the models to fine-tune.

# The user's own dataset (config recommend.dataset).
RECOMMEND = config["recommend"]
RECOMMEND_NAME = (
    os.path.basename(os.path.normpath(RECOMMEND["dataset"])) if RECOMMEND["dataset"] else None
)
# a pattern no name matches when no dataset is configured
RECOMMEND_PATTERN = re.escape(RECOMMEND_NAME) if RECOMMEND_NAME else "(?!x)x"
RECOMMEND_SOURCES = [name for name in DATASETS if name != RECOMMEND_NAME]


def recommend_files(wildcards):
    """The TRAIN and TEST files of the user's dataset (2018 or 2015 layout)."""
    folder = os.path.normpath(RECOMMEND["dataset"])
    try:
        return {
            s.lower(): str(data.split_file(os.path.dirname(folder), RECOMMEND_NAME, s).path)
            for s in data.SPLITS
        }
    except InputError as error:
        _stop(f"config key recommend.dataset: {error}")


def recommend_models(wildcards):
    """The pre-trained models of the top sources (known once the ranking exists)."""
    if not RECOMMEND["finetune"]:
        return []
    import csv

    ranking = checkpoints.recommend_ranking.get(
        network=wildcards.network, name=wildcards.name
    ).output.ranking
    with open(ranking) as handle:
        sources = [row["source"] for row in csv.DictReader(handle)][: RECOMMEND["top"]]
    return [pretrained_model(wildcards.network, source) for source in sources]
