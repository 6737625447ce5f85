from transfer_tsc import analysis, figures
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    curves = analysis.read_table(snakemake.input.table, analysis.RANK_CURVE_COLUMNS)
    labels = analysis.name_labels(snakemake.params.names)
    requested = [labels.get(t, t) for t in snakemake.params.targets or []]
    targets = analysis.rank_curve_targets(requested, curves)
    figure = figures.rank_curves_figure(curves, targets, smoothing=snakemake.params.smoothing)
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    log(f"targets {', '.join(targets)} -> {snakemake.output.png}")
