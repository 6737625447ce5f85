"""Rule dtw_neighbours: every target's sources ranked nearest first (target,rank,source,distance)."""

from transfer_tsc import similarity
from transfer_tsc.workflow import rule_script

with rule_script(snakemake) as log:
    matrix = similarity.read_matrix(snakemake.input.matrix)
    table = similarity.neighbours(matrix)
    similarity.write_neighbours(
        table, snakemake.output.neighbours, snakemake.output.settings, snakemake.input.settings
    )
    log(f"{len(matrix)} targets, {len(table)} ranked sources -> {snakemake.output.neighbours}")
