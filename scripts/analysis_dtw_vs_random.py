from transfer_tsc import analysis
from transfer_tsc.io import write_csv
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    table = analysis.dtw_vs_random(
        analysis.read_transfer(snakemake.input.transfer),
        analysis.read_neighbours(snakemake.input.neighbours),
        draws=snakemake.params.draws,
        seed=snakemake.params.seed,
    )
    labels = analysis.name_labels(snakemake.params.names)
    write_csv(analysis.relabel(table, labels), snakemake.output.table)
    s = analysis.dtw_summary(table)
    log(
        f"{s['n_targets']} targets: DTW wins / ties / losses {s['wins']} / {s['ties']} / "
        f"{s['losses']}, Wilcoxon p = {s['wilcoxon_p']:.3g} -> {snakemake.output.table}"
    )
