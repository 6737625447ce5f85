"""The workflow on a real single-node SLURM (munged, slurmctld, slurmd from Debian's packages),
run as the README says: `snakemake --profile slurm` after the one set-up command that links the
project's profile into ~/.config/snakemake.

Checks: every output written; the training jobs went to the GPU partition with a GPU request and
the CPU jobs without one (read back with `scontrol show job`); the fine-tuning group job cancelled
with `scancel` after one of its two pairs had finished was submitted again, the finished pair kept
its files and the run finished on its own; nothing finished is redone by a second run; the other
documented ways to name the profile find it.

Skipped, with the reason, only where SLURM cannot run (not root, or no apt to install it).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from transfer_tsc.config import DEMO_ROOT
from transfer_tsc.demo import write_demo_dataset

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SETUP = 'mkdir -p ~/.config/snakemake && ln -sfn "$PWD/profiles/slurm" ~/.config/snakemake/slurm'
# Short training on top of demo.yaml, two of the demo datasets (generated before the run): a
# pre-training group, a fine-tuning group and the analyses' group on a 2-CPU machine in minutes.
DATASETS = ["CBF", "SyntheticControl"]
SHORT = {
    "datasets": DATASETS,
    "pretrain": {"epochs": 2},
    "finetune": {"epochs": 6},  # a few seconds per pair: time to cancel the second one
    "training": {"progress_every": 1, "checkpoint_every": 1},
}
PAIRS = [("CBF", "SyntheticControl"), ("SyntheticControl", "CBF")]
TRAINING_RULES = ("pretrain", "finetune")
RUN_TIMEOUT = 400  # 138-194 s measured on 2 cores shared with other work; room for more load
CONFIG = ("--configfile", "demo.yaml", "short.yaml")


def _load_cluster_module():
    spec = importlib.util.spec_from_file_location("slurm_cluster", REPO / "tests/slurm/cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cluster_module = _load_cluster_module()


def _require_slurm() -> None:
    reason = cluster_module.unavailable()
    if reason is None:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        pytest.fail(f"this machine can run SLURM but {reason}")
    print(f"SLURM test skipped: {reason}")
    pytest.skip(reason)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNAKEMAKE_", "SLURM_"))}
    env.update(HOME=str(home), PATH=f"{VENV_BIN}{os.pathsep}{env['PATH']}", TF_CPP_MIN_LOG_LEVEL="2")
    return env


def snakemake(workdir: Path, env: dict, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """`snakemake ARGS` in ``workdir`` under `timeout -k`; a killed run's lock is cleared."""
    command = ["timeout", "-k", "10", str(timeout), "snakemake", *args]
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    if result.returncode in (124, 137):
        subprocess.run(
            ["timeout", "-k", "5", "60", "snakemake", "--unlock", *args[:1]],
            cwd=workdir, env=env, capture_output=True,
        )
    return result


class Canceller(threading.Thread):
    """Cancel the first running job of ``rule`` (as a user's `scancel` would) once its SLURM log
    says one of its members finished, keeping the content of the ``outputs`` that exist then in
    ``finished``."""

    def __init__(self, rule: str, workdir: Path, outputs: list[Path]):
        super().__init__(daemon=True)
        self.rule, self.workdir, self.outputs = rule, workdir, outputs
        self.cancelled: str | None = None
        self.finished: dict[Path, bytes] = {}
        self.done = threading.Event()

    def _a_member_finished(self, job: str) -> bool:
        logs = self.workdir.glob(f".snakemake/slurm_logs/*/{job}.log")
        return any(f"(Rule: {self.rule})" in log.read_text(errors="replace") for log in logs)

    def run(self) -> None:
        while not self.done.is_set():
            queue = subprocess.run(
                ["squeue", "-h", "-o", "%i|%T|%k"], capture_output=True, text=True
            ).stdout
            for line in queue.splitlines():
                job, state, comment = line.split("|", 2)
                if state == "RUNNING" and self.rule in comment and self._a_member_finished(job):
                    time.sleep(1)  # the group's own bookkeeping of that member; the next starts
                    subprocess.run(["scancel", job], check=True)
                    self.cancelled = job
                    self.finished = {p: p.read_bytes() for p in self.outputs if p.is_file()}
                    return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory):
    _require_slurm()
    root = tmp_path_factory.mktemp("slurm")
    workdir, home = root / "work", root / "home"
    home.mkdir()
    workdir.mkdir()
    cluster_module.copy_workflow(REPO, workdir)
    (workdir / "short.yaml").write_text(yaml.safe_dump(SHORT))
    for name in DATASETS:
        write_demo_dataset(workdir / DEMO_ROOT, name)
    env = _env(home)

    with cluster_module.Cluster(root / "cluster") as cluster:
        setup = subprocess.run(["bash", "-c", SETUP], cwd=workdir, env=env, capture_output=True, text=True)
        assert setup.returncode == 0, setup.stderr
        pairs = [workdir / f"results/finetune/{s}/{t}/metrics.csv" for s, t in PAIRS]
        canceller = Canceller("finetune", workdir, pairs)
        canceller.start()
        started = time.monotonic()
        run = snakemake(
            workdir, env, "--profile", "slurm", *CONFIG, timeout=RUN_TIMEOUT
        )
        elapsed = time.monotonic() - started
        canceller.done.set()
        canceller.join(timeout=5)
        jobs = cluster.all_jobs()
        again = snakemake(workdir, env, "--profile", "slurm", *CONFIG)
        jobs_after = cluster.all_jobs()
        forms = {
            "--profile profiles/slurm": snakemake(
                workdir, env, "--profile", "profiles/slurm", "-n", "--forceall", *CONFIG
            ),
            "SNAKEMAKE_PROFILE=profiles/slurm": snakemake(
                workdir, {**env, "SNAKEMAKE_PROFILE": "profiles/slurm"}, "-n", "--forceall",
                *CONFIG,
            ),
            "--workflow-profile slurm": snakemake(
                workdir, env, "--workflow-profile", "slurm", "-n", "--forceall", *CONFIG
            ),
        }
        one_pair = snakemake(
            workdir, env, "--profile", "slurm", "-n", "--forceall",
            "results/finetune/CBF/SyntheticControl/metrics.csv", *CONFIG,
        )
    print(f"SLURM run: {elapsed:.0f} s, {len(jobs)} SLURM jobs")
    return dict(
        workdir=workdir, run=run, jobs=jobs, again=again, forms=forms, one_pair=one_pair,
        cancelled=canceller.cancelled, finished=canceller.finished, jobs_after=jobs_after,
    )


def _log(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"


def _minutes(limit: str) -> int:
    """Minutes of a SLURM time limit ([days-]hours:minutes:seconds)."""
    days, _, clock = limit.rpartition("-")
    hours, minutes, _ = (int(x) for x in clock.split(":"))
    return (int(days or 0) * 24 + hours) * 60 + minutes


def _rules(job: dict[str, str]) -> str:
    """The rule (or group) a SLURM job ran, from the comment the plugin gives it."""
    return job.get("Comment", "")


def test_workflow_finishes_with_all_outputs(slurm_run):
    run, workdir = slurm_run["run"], slurm_run["workdir"]
    assert run.returncode == 0, _log(run)
    expected = ["results/scratch_accuracy.csv", "results/transfer_accuracy.csv"]
    for name in DATASETS:
        expected += [f"results/pretrain/{name}/{f}" for f in ("model.h5", "metrics.csv")]
    for source in DATASETS:
        for target in DATASETS:
            if source != target:
                expected.append(f"results/finetune/{source}/{target}/metrics.csv")
    missing = [path for path in expected if not (workdir / path).is_file()]
    assert not missing, f"missing outputs: {missing}\n{_log(run)}"
    # every other target of rule all too: a second run finds nothing to do
    again = slurm_run["again"]
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, _log(again)


def test_training_jobs_ask_the_gpu_partition_for_a_gpu(slurm_run):
    jobs = slurm_run["jobs"]
    training = [j for j in jobs if any(rule in _rules(j) for rule in TRAINING_RULES)]
    names = {_rules(j) for j in training}
    assert any("pretrain" in n for n in names) and any("finetune" in n for n in names), names
    for job in training:
        assert job["Partition"] == "gpu", job
        assert "gres:gpu:1" in (job.get("TresPerNode", "") + job.get("TresPerJob", "")), job


def test_cpu_jobs_ask_no_gpu(slurm_run):
    jobs = slurm_run["jobs"]
    cpu = [j for j in jobs if not any(rule in _rules(j) for rule in TRAINING_RULES)]
    assert cpu, [_rules(j) for j in jobs]
    for job in cpu:
        assert job["Partition"] == "cpu", job
        assert "gpu" not in job.get("TresPerNode", "") + job.get("TresPerJob", ""), job


def test_cancelled_job_is_retried_and_nothing_finished_is_redone(slurm_run):
    jobs, run = slurm_run["jobs"], slurm_run["run"]
    cancelled = slurm_run["cancelled"]
    assert cancelled, "no fine-tuning job was seen running with one pair finished, to cancel"
    record = next(j for j in jobs if j["JobId"] == cancelled)
    assert record["JobState"] == "CANCELLED", record
    later = [
        j for j in jobs
        if j["Comment"] == record["Comment"] and int(j["JobId"]) > int(cancelled)
    ]
    assert [j["JobState"] for j in later] == ["COMPLETED"], later
    # the second attempt of a training job asks for twice the time
    assert _minutes(later[0]["TimeLimit"]) == 2 * _minutes(record["TimeLimit"]), (record, later)
    assert "Trying to restart job" in run.stderr, _log(run)
    # the resubmitted group ran both members: the pair that had finished kept its files
    workdir = slurm_run["workdir"]
    assert len(slurm_run["finished"]) == 1, slurm_run["finished"]
    for path, content in slurm_run["finished"].items():
        assert path.read_bytes() == content, path
        source, target = path.parent.parent.name, path.parent.name
        log = (workdir / f"logs/finetune/{target}/{source}.log").read_text()
        assert "outputs kept, not trained again" in log and "epoch" not in log, log
        (other,) = [pair for pair in PAIRS if pair != (source, target)]
        other_log = (workdir / f"logs/finetune/{other[1]}/{other[0]}.log").read_text()
        assert "test accuracy" in other_log, other_log
    # the other jobs ran once each: the retry redid nothing that had finished
    comments = [j["Comment"] for j in jobs if j["JobId"] != cancelled]
    assert len(comments) == len(set(comments)), sorted(comments)
    # and the second run submitted nothing
    assert len(slurm_run["jobs_after"]) == len(jobs), slurm_run["jobs_after"]


def test_documented_profile_forms_find_the_profile(slurm_run):
    for form, result in slurm_run["forms"].items():
        assert result.returncode == 0, f"{form}: {_log(result)}"
        text = result.stdout + result.stderr
        # the profile's per-rule resources and job groups are in force
        assert "slurm_partition=gpu" in text and "gres=gpu:1" in text, f"{form}: {_log(result)}"
        assert "Group job finetune_gpu" in text, f"{form}: {_log(result)}"


def test_one_pair_runs_alone(slurm_run):
    result = slurm_run["one_pair"]
    assert result.returncode == 0, _log(result)
    text = result.stdout + result.stderr
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in text.split("Job stats:")[1].splitlines()[3:]
        if len(line.split()) == 2 and line.split()[1].isdigit()
    }
    assert counts.get("finetune") == 1 and counts.get("pretrain") == 1, text[-3000:]
