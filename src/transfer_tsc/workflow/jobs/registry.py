"""What every job module shares: the registry of jobs by rule name (``@job("pretrain", ...)``)
and the dataset of a job's inputs. Apart from the package's ``__init__`` (which imports every job
module, and so their registrations), so that no job module imports its own package."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from transfer_tsc.data import Dataset, load_dataset_files
from transfer_tsc.networks import NetworkSpec, network

# A job: (snakemake, log), and for a training job (keras=True) its recipe third.
Job = Callable[..., None]


@dataclass(frozen=True)
class Rule:
    """A rule's job: its function; ``keep_finished`` for rules whose outputs a killed run keeps
    (``runner.rule_script``); ``backend`` for rules that select the Keras backend first;
    ``keras`` for training rules, which also get the Keras preamble and their recipe."""

    job: Job
    keep_finished: bool = False
    keras: bool = False
    backend: bool = False


RULES: dict[str, Rule] = {}


def job(
    *rules: str, keep_finished: bool = False, keras: bool = False, backend: bool = False
) -> Callable[[Job], Job]:
    """Register the decorated function as the job of the rules named ``rules``."""
    if not rules:
        raise TypeError("job(): name the rule(s) whose job this is")

    def register(function: Job) -> Job:
        for name in rules:
            if name in RULES:
                raise RuntimeError(f"rule {name}: two jobs ({RULES[name].job.__qualname__})")
            RULES[name] = Rule(function, keep_finished, keras, backend or keras)
        return function

    return register


def job_network(snakemake) -> NetworkSpec:
    """The network of a job's study: its ``network`` wildcard (``results/<network>/...``)."""
    return network(snakemake.wildcards.network)


def input_dataset(snakemake, name: str, test: bool = True) -> Dataset:
    """The dataset ``name`` from the job's ``train`` (and ``test``) inputs, read as
    ``params.data`` says."""
    test_file = snakemake.input.test if test else None
    return load_dataset_files(name, snakemake.input.train, test_file, **snakemake.params.data)
