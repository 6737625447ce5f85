"""The jobs layer: every rule that runs scripts/job.py has a function in transfer_tsc.workflow.jobs
named after it, in the module of its rule file (rules/<stage>.smk), and every registered job is
such a rule."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from transfer_tsc.workflow import jobs

RULE = re.compile(
    r"^\s*(?:rule|checkpoint) (\w+):\n(.*?)(?=^\s*(?:rule|checkpoint) \w+:|\Z)", re.M | re.S
)


# The job module of each rule file (rules/<stage>.smk), where it is not named after it.
JOB_MODULE = {"pretrain": "training", "finetune": "training"}


def script_rules_by_file() -> dict[str, str]:
    """Rule -> its rule file's stem, for the rules whose ``script:`` is scripts/job.py, from the
    rule files' text."""
    found = {}
    for path in (REPO / "rules").rglob("*.smk"):
        for name, body in RULE.findall(path.read_text()):
            if "scripts/job.py" in body:
                found[name] = path.stem
    return found


def script_rules() -> set[str]:
    """The rules whose ``script:`` is scripts/job.py, from the rule files' text."""
    return set(script_rules_by_file())


def test_every_script_rule_has_its_job_and_every_job_its_rule() -> None:
    rules = script_rules()
    assert len(rules) > 20
    assert rules == set(jobs.RULES)


def test_a_job_is_the_function_named_after_its_rule() -> None:
    shared = {"finetune_batch": "finetune"}  # one job for a pair and for a batch of sources
    for rule, registered in jobs.RULES.items():
        assert registered.job.__name__ == shared.get(rule, rule)
        assert registered.job.__doc__, f"job {rule} has no docstring"


def test_every_rule_runs_the_one_entry_script() -> None:
    scripts = {
        match
        for path in (REPO / "rules").rglob("*.smk")
        for match in re.findall(r'script:\s*\n\s*"([^"]+)"', path.read_text())
    }
    assert scripts == {"../scripts/job.py"}
    assert sorted(p.name for p in (REPO / "scripts").iterdir() if p.suffix == ".py") == ["job.py"]


def test_a_job_lives_in_the_module_of_its_rule_file() -> None:
    for rule, stem in script_rules_by_file().items():
        module = f"{jobs.__name__}.{JOB_MODULE.get(stem, stem)}"
        assert jobs.RULES[rule].job.__module__ == module, f"rule {rule} (rules/{stem}.smk)"


def test_a_rule_gets_one_job() -> None:
    with pytest.raises(RuntimeError, match="rule pretrain: two jobs"):
        jobs.job("pretrain")(lambda snakemake, log: None)
    assert jobs.RULES["pretrain"].job.__name__ == "pretrain"
