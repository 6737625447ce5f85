# Helpers of rules/analysis.smk: the datasets compared with the paper's published results and
# the counts the selection captions show.

from transfer_tsc.report import selection

# The run's datasets that are among the paper's 85 (none for the demo archive: its CBF,
# SyntheticControl and TwoPatterns are generated, not the archive's), compared with the
# paper's published results.
PAPER_SHARED = [] if DEMO else sorted(set(DATASETS) & set(data.ucr2015_names().values()))


def paper_shared(wildcards):
    """The datasets compared with the paper's published results: the FCN's study only (the
    paper trains the FCN alone)."""
    return PAPER_SHARED if wildcards.network == "fcn" else []


def selection_counts(wildcards):
    """What the selection comparison rests on, for its report captions (selection.Counts)."""
    return selection.Counts(f"{study_folder(wildcards.network)}/analysis/selection_methods.csv")
