from transfer_tsc import analysis, figures, published
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    table = analysis.read_table(snakemake.input.table, published.COMPARISON_COLUMNS)
    figure = figures.published_comparison_figure(table)
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    shared = published.statistic(table, "datasets", "shared with the paper")
    log(f"{shared['n']} datasets shared with the paper -> {snakemake.output.png}")
