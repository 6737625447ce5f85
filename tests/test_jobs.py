"""The jobs layer: every rule that runs scripts/job.py has a function in transfer_tsc.workflow.jobs
named after it, and every registered job is such a rule."""

from __future__ import annotations

import re

from conftest import REPO

from transfer_tsc.workflow import jobs

RULE = re.compile(
    r"^\s*(?:rule|checkpoint) (\w+):\n(.*?)(?=^\s*(?:rule|checkpoint) \w+:|\Z)", re.M | re.S
)


def script_rules() -> set[str]:
    """The rules whose ``script:`` is scripts/job.py, from the rule files' text."""
    names = set()
    for path in (REPO / "rules").rglob("*.smk"):
        for name, body in RULE.findall(path.read_text()):
            if "scripts/job.py" in body:
                names.add(name)
    return names


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
