from transfer_tsc import analysis, published
from transfer_tsc.io import write_csv
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    ours = published.Results(
        analysis.read_scratch(snakemake.input.scratch),
        analysis.read_transfer(snakemake.input.transfer),
        analysis.read_neighbours(snakemake.input.neighbours),
    )
    table = published.comparison(
        ours,
        published.load(),
        allowed=snakemake.params.shared,
        draws=snakemake.params.draws,
        seed=snakemake.params.seed,
        note="the demo archive's datasets are generated, not the paper's" if snakemake.params.demo else "",
    )
    labels = analysis.name_labels(snakemake.params.names)
    write_csv(analysis.relabel(table, labels), snakemake.output.table)
    shared = published.statistic(table, "datasets", "shared with the paper")
    log(f"{shared['n']} datasets shared with {published.SOURCE}: {shared['note']} -> {snakemake.output.table}")
