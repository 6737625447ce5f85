from transfer_tsc import analysis, figures
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    table = analysis.read_table(snakemake.input.table, analysis.DTW_COLUMNS)
    pairs = analysis.coverage(analysis.read_transfer(snakemake.input.transfer)).describe()
    figure = figures.dtw_vs_random_figure(
        table,
        draws=snakemake.params.draws,
        pairs=pairs,
        second_nn_gain=snakemake.params.second_nn_gain,
    )
    figures.save(figure, snakemake.output.png, snakemake.output.svg)
    gains = figures.second_nn_gains(table, snakemake.params.second_nn_gain)
    log(f"{pairs}; 2nd NN dots: {', '.join(gains['target']) or 'none'} -> {snakemake.output.png}")
