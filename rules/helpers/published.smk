# Helpers of rules/published.smk: the published data files its rules read, its report entries and
# its targets (`snakemake published`; the default target's share, config published_analyses).

from transfer_tsc.networks import PAPER_NETWORK

# The published results the jobs read (through transfer_tsc.report.published), as inputs: a
# change of a data file makes the tables again.
PUBLISHED_DATA = os.path.join(workflow.basedir, "src", "transfer_tsc", "published")
PUBLISHED_TRANSFER = os.path.join(PUBLISHED_DATA, "transfer_accuracy.csv")
PUBLISHED_SCRATCH = os.path.join(PUBLISHED_DATA, "scratch_accuracy.csv")
PUBLISHED_NEIGHBOURS = os.path.join(PUBLISHED_DATA, "neighbours.csv")
PUBLISHED_NETWORKS = [
    os.path.join(PUBLISHED_DATA, name)
    for name in (
        "dl-4-tsc_results-uea.csv",
        "InceptionTime_results-inception-128.csv",
        "InceptionTime_results-InceptionTime-85.csv",
    )
]
PUBLISHED_CATEGORY = "Published results (no training)"
# The claims' params: Fig. 6's draws and seed, the rank curves' smoothing, the datasets' names
# (rules published_analyses and paper_claims).
CLAIMS_PARAMS = dict(
    draws=config["analysis"]["random_draws"],
    seed=config["seed"],
    smoothing=config["analysis"]["rank_curve_smoothing"],
    names=config["analysis"]["names"],
)


def published_report(path, caption, subcategory, **labels):
    """An output of results/published/ in the report's published category."""
    return report(
        kept(path),
        caption=f"../report/{caption}.rst",
        category=PUBLISHED_CATEGORY,
        subcategory=subcategory,
        labels=labels,
    )


def published_products():
    """Every output of results/published/ (no training)."""
    return [
        *rules.published_accuracy_variation.output,
        *rules.published_analyses.output,
    ]


def published_targets():
    """The default target's share (config published_analyses): the outputs of
    results/published/ and, when the study trains the FCN, the paper's claims with its results;
    none when the key is false."""
    if not config["published_analyses"]:
        return []
    products = published_products()
    if PAPER_NETWORK in NETWORKS:
        products += expand(rules.paper_claims.output.table, network=PAPER_NETWORK)
    return products
