from transfer_tsc import analysis, figures, selection
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    summary = analysis.read_table(snakemake.input.table, selection.SUMMARY_COLUMNS)
    oracle = selection.method_row(summary, "oracle")
    pairs = (
        f"{int(oracle['n_targets'])} targets, {int(oracle['n_pairs'])} fine-tuned pairs "
        f"(pairs of these targets not run: {int(oracle['pairs_not_run'])})"
    )
    figure = figures.selection_methods_figure(summary, pairs=pairs)
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    log(f"{pairs} -> {snakemake.output.png}")
