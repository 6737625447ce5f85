from transfer_tsc import analysis, selection
from transfer_tsc.io import write_csv
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    summary, targets = selection.selection_methods(
        analysis.read_transfer(snakemake.input.transfer),
        analysis.read_neighbours(snakemake.input.neighbours),
        analysis.read_scores(snakemake.input.scores),
        draws=snakemake.params.draws,
        seed=snakemake.params.seed,
    )
    labels = analysis.name_labels(snakemake.params.names)
    write_csv(analysis.relabel(summary, labels), snakemake.output.table)
    write_csv(analysis.relabel(targets, labels), snakemake.output.targets)
    oracle = selection.method_row(summary, "oracle")
    log(
        f"{oracle['n_targets']} targets, {oracle['n_pairs']} pairs ({oracle['pairs_not_run']} not "
        f"run, {oracle['targets_left_out']} targets with < {selection.MIN_SOURCES} fine-tuned "
        f"sources left out) -> {snakemake.output.table}, {snakemake.output.targets}"
    )
