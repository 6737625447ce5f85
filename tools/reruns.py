"""Which jobs a change of each config key makes Snakemake run again, measured: for every key of
the schema, a dry run of the default target of a finished study with that one key changed.

    .venv/bin/python tools/reruns.py STUDY_DIR CONFIG.yaml [KEY ...]

STUDY_DIR is the working directory of a finished run of CONFIG.yaml (every job done: its dry run
says "Nothing to be done"). Prints one line per key: the rules the dry run plans for a reason of
their own (the jobs that read their outputs follow), or "nothing". The README's configuration
table states these (column "changing it re-runs").
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"

# A value each key can take other than its default that keeps the study valid.
CHANGES: dict[str, object] = {
    "datasets_missing": "skip",
    "seed": 1,
    "data.znormalise": True,
    "data.fill_missing": True,
    "training.batch_size": 8,
    "training.batch_size_cap_tenth": True,
    "training.learning_rate": 0.002,
    "training.lr_factor": 0.25,
    "training.lr_patience": 40,
    "training.min_lr": 0.00005,
    "training.progress_every": 7,
    "training.checkpoint_every": 3,
    "training.backend": "jax",
    "pretrain.epochs": 4,
    "finetune.epochs": 4,
    "finetune.group_size": 2,
    "finetune.save_models": True,
    "finetune.sources": "random:1",
    "dtw.window": 0.1,
    "dtw.dba_iterations": 5,
    "analysis.names": 2015,
    "analysis.random_draws": 50,
    "analysis.second_nn_gain": 0.2,
    "analysis.rank_curve_targets": ["Chinatown"],
    "analysis.rank_curve_smoothing": 3,
    "analysis.heatmap_limit": 50,
    "recommend.top": 2,
    "recommend.finetune": True,
    "recommend.score": "logme",
    "resources.training.mem_mb": 4000,
    "resources.training.mem_mb_per_mb": 60,
    "resources.training.minutes": 3,
    "resources.training.minutes_per_mb": 12,
    "resources.gpu.memory_mb": 8000,
}


def nested(key: str, value: object) -> dict:
    """``{"a": {"b": value}}`` for key ``a.b``."""
    for part in reversed(key.split(".")):
        value = {part: value}
    return value  # type: ignore[return-value]


def planned_rules(study: Path, configs: list[Path]) -> tuple[list[str], int]:
    """What a dry run of the default target plans: the rules that run for a reason of their own
    (params changed, new or missing outputs, ...; not only "input files updated by another
    job"), sorted, and the number of jobs in all (0: nothing to be done)."""
    command = [
        str(SNAKEMAKE),
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(study),
        "-n",
        "--cores",
        "2",
        "--configfile",
        *map(str, configs),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{configs[-1].read_text().strip()}: {result.stderr.strip()[-2000:]}")
    if "Job stats:" not in result.stdout:
        return [], 0
    total = int(re.search(r"^total\s+(\d+)", result.stdout, re.M)[1])
    reasons = result.stdout.split("Reasons:", 1)[1].split("\n\n", 1)[0]
    direct: set[str] = set()
    for reason, rules in re.findall(r"^    (\S[^\n]*):\n        ([^\n]+)", reasons, re.M):
        if reason != "input files updated by another job":
            direct.update(rule.strip() for rule in rules.split(","))
    return sorted(direct - {"all"}), total


def main(study: str, config: str, *keys: str) -> None:
    base = Path(config).resolve()
    with tempfile.TemporaryDirectory() as scratch:
        for key in keys or CHANGES:
            change = Path(scratch) / "change.yaml"
            change.write_text(yaml.safe_dump(nested(key, CHANGES[key])))
            direct, total = planned_rules(Path(study), [base, change])
            said = (
                f"{', '.join(direct)} ({total} jobs with what reads them)" if total else "nothing"
            )
            print(f"{key}: {said}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
