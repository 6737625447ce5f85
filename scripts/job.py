"""Every rule's script: set the job's environment, then run the rule's job
(transfer_tsc.workflow.jobs)."""

import os

# dtaidistance's OpenMP (and the BLAS) read this when their libraries load: one thread per core
# the job holds.
os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)

from transfer_tsc.workflow import jobs  # noqa: E402

jobs.run(snakemake)
