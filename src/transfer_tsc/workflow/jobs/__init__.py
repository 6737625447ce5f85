"""The workflow's jobs: one function per rule, from the rule's ``snakemake`` object (input,
output, params, wildcards, threads) to the package's calls and the rule's files.

One module per rule file (``rules/<stage>.smk``): ``data``, ``training`` (pretrain.smk and
finetune.smk), ``similarity``, ``transferability``, ``analysis``, ``recommend``,
``across_networks``, ``published``; each registers
its jobs under their rules' names (``@job("pretrain", ...)``, ``registry``). Every rule's
``script:`` is ``scripts/job.py``, which sets the job's environment and calls :func:`run`;
``run`` picks the rule's job and runs it inside ``runner.rule_script`` (the job's log, one-line
errors, the memory watchdog, finished-job records). Rules that load Keras select its backend
first; a training job (``keras=True``) also gets the Keras preamble (backend log line, threads)
and its recipe. Modules that import Keras or matplotlib are imported inside the jobs that need
them, so a table job starts without either.
"""

from __future__ import annotations

from transfer_tsc.console import Log
from transfer_tsc.training.recipe import Recipe

# every job module, so that every rule's job is registered
from transfer_tsc.workflow.jobs import (  # noqa: F401
    across_networks,
    analysis,
    data,
    published,
    recommend,
    similarity,
    training,
    transferability,
)
from transfer_tsc.workflow.jobs.registry import RULES, Rule, job  # noqa: F401
from transfer_tsc.workflow.runner import rule_script, select_backend


def _training_preamble(snakemake, log: Log) -> Recipe:
    """A training job's start: the Keras backend in the log, TensorFlow's threads as the job's;
    its recipe (``params.recipe`` and the config's training cadence)."""
    from transfer_tsc.settings import job_recipe
    from transfer_tsc.training.engines import backend, use_threads

    log(f"Keras backend: {backend()}")
    use_threads(snakemake.threads)
    return job_recipe(snakemake.params.recipe, snakemake.config)


def run(snakemake) -> None:
    """Run the job of rule ``snakemake.rule``."""
    try:
        rule = RULES[snakemake.rule]
    except KeyError:
        raise RuntimeError(f"rule {snakemake.rule}: no job in transfer_tsc.workflow.jobs") from None
    # KERAS_BACKEND before Keras is imported, once the job is known to run (not kept)
    setup = (lambda: select_backend(snakemake.config)) if rule.backend else None
    with rule_script(snakemake, keep_finished=rule.keep_finished, setup=setup) as log:
        if rule.keras:
            rule.job(snakemake, log, _training_preamble(snakemake, log))
        else:
            rule.job(snakemake, log)
