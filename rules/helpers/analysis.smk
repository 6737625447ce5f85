# Helpers of rules/analysis.smk: the datasets compared with the paper's published results, the
# counts the selection captions show and, with runs above 1, the per-run tables of the spread.

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


def run_inputs(*names):
    """With runs above 1, the per-run tables the analyses' spread and every-run wins come from,
    as inputs ``<name>_runs`` for ``names`` (``scratch``, ``transfer``: the
    ``*_accuracy_runs.csv`` their gathering rules write); none with one run, so that a rule is
    then as it always was."""
    if RUNS == 1:
        return {}
    gathered = {
        "scratch": rules.scratch_accuracy.output,
        "transfer": rules.transfer_accuracy.output,
    }
    return {f"{name}_runs": gathered[name].runs for name in names}
