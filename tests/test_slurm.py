"""The workflow on a real single-node SLURM (munged, slurmctld, slurmd from Debian's packages),
run as the README says: `snakemake --profile slurm` after the one set-up command that links the
project's profile into ~/.config/snakemake.

Checks: every output written; the training jobs went to the GPU partition with a GPU request and
the CPU jobs without one (read back with `scontrol show job`); the profile's GPU plan fine-tuned
the two sources of one target together in one GPU job (the batched engine) and each target's
batches in one submission; a target's fine-tuning job cancelled with `scancel` once one of its two
batches had finished and the other had written a checkpoint was submitted again, the finished
batch kept its files, the other resumed from its checkpoint, and the run finished on its own;
nothing finished is redone by a second run; the other documented ways to name the profile find
it; a single pair's file plans one fine-tuning of one model.

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

from transfer_tsc.settings import DEMO_ROOT
from transfer_tsc.demo import write_demo_dataset
from transfer_tsc.gpu_plan import group_size_for
from transfer_tsc.study import batch_id

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SETUP = 'mkdir -p ~/.config/snakemake && ln -sfn "$PWD/profiles/slurm" ~/.config/snakemake/slurm'
# Short training on top of demo.yaml, the three demo datasets (generated before the run): a
# pre-training group, one fine-tuning submission per target and the analyses' group on a 2-CPU
# machine in minutes.
DATASETS = ["CBF", "SyntheticControl", "TwoPatterns"]  # series of 128, 60 and 128 time steps


def _small_gpu() -> int:
    """MiB of a GPU on which the GPU plan fine-tunes SyntheticControl's two sources together
    and CBF's and TwoPatterns' one at a time (two batches in their target's one submission)."""
    memory = next(m for m in range(1600, 4000, 10) if group_size_for(60, 16, m, 2) == 2)
    assert group_size_for(128, 16, memory, 2) == 1
    return memory


SHORT = {
    "datasets": DATASETS,
    "pretrain": {"epochs": 2},
    "finetune": {"epochs": 12},  # seconds after the first checkpoint: time to cancel
    "training": {"progress_every": 1, "checkpoint_every": 1},
    "resources": {"gpu": {"memory_mb": _small_gpu()}},
}
PAIRS = [(s, t) for t in DATASETS for s in DATASETS if s != t]
TOGETHER = "SyntheticControl"  # its sources CBF and TwoPatterns: one batch, one GPU job
CANCELLED = "CBF"  # its sources' two batches: the job cancelled between them
TRAINING_RULES = ("pretrain", "finetune")
RUN_TIMEOUT = 500  # 138-194 s measured with two datasets on 2 shared cores; room for more load
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
    """Cancel the running fine-tuning job of ``target`` (as a user's `scancel` would) once one of
    its two batches has finished and the other has written a checkpoint, keeping the content of
    the finished batch's files in ``finished``."""

    def __init__(self, target: str, workdir: Path, sources: list[str]):
        super().__init__(daemon=True)
        self.target, self.workdir, self.sources = target, workdir, sources
        self.cancelled: str | None = None
        self.finished: dict[Path, bytes] = {}
        self.resumed: str | None = None  # the batch that had its checkpoint
        self.done = threading.Event()

    def _ready(self) -> tuple[str, str] | None:
        """(finished batch, batch with a checkpoint), or None."""
        batches = self.workdir / "results/finetune_batches" / self.target
        checkpoints = self.workdir / "results/checkpoints/finetune" / self.target
        for done, other in (self.sources, self.sources[::-1]):
            if (batches / done).is_dir() and (checkpoints / f"{other}.h5").is_file():
                return done, other
        return None

    def run(self) -> None:
        group = f"finetune_gpu_{self.target}"
        while not self.done.is_set():
            queue = subprocess.run(
                ["squeue", "-h", "-o", "%i|%T|%k"], capture_output=True, text=True
            ).stdout
            for line in queue.splitlines():
                job, state, comment = line.split("|", 2)
                ready = state == "RUNNING" and group in comment and self._ready()
                if ready:
                    subprocess.run(["scancel", job], check=True)
                    self.cancelled, (done, self.resumed) = job, ready
                    folder = self.workdir / "results/finetune_batches" / self.target / done
                    self.finished = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
                    return
            time.sleep(0.1)


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
        sources = [name for name in DATASETS if name != CANCELLED]
        canceller = Canceller(CANCELLED, workdir, sources)
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
        resumed=canceller.resumed,
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


def test_a_targets_sources_are_fine_tuned_together_in_one_gpu_job(slurm_run):
    jobs, workdir = slurm_run["jobs"], slurm_run["workdir"]
    sources = [name for name in DATASETS if name != TOGETHER]
    batch = batch_id(sources)
    log = (workdir / f"logs/finetune/{TOGETHER}/{batch}.log").read_text()
    assert f"[finetune {'+'.join(sources)} -> {TOGETHER}]" in log, log  # one engine, both
    (job,) = [j for j in jobs if f"finetune_gpu_{TOGETHER}" in _rules(j)]
    assert job["JobState"] == "COMPLETED" and job["Partition"] == "gpu", job
    assert "gres:gpu:1" in job.get("TresPerNode", "") + job.get("TresPerJob", ""), job
    # one submission per target: the two targets of one source each, the cancelled one twice
    finetuning = sorted(_rules(j) for j in jobs if "finetune" in _rules(j))
    assert len(finetuning) == len(DATASETS) + 1, finetuning
    for target in DATASETS:
        assert any(f"finetune_gpu_{target}" in comment for comment in finetuning), finetuning
    run = slurm_run["run"]
    assert "Note: GPU plan" in run.stderr, _log(run)


def test_cancelled_job_is_retried_and_nothing_finished_is_redone(slurm_run):
    jobs, run = slurm_run["jobs"], slurm_run["run"]
    cancelled = slurm_run["cancelled"]
    assert cancelled, (
        f"no fine-tuning job of {CANCELLED} was seen running with one batch finished and the "
        "other checkpointed, to cancel"
    )
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
    # the resubmitted job ran both batches: the one that had finished kept its files ...
    workdir = slurm_run["workdir"]
    assert slurm_run["finished"], "the finished batch had no files"
    for path, content in slurm_run["finished"].items():
        assert path.read_bytes() == content, path
    (done,) = [name for name in DATASETS if name not in (CANCELLED, slurm_run["resumed"])]
    log = (workdir / f"logs/finetune/{CANCELLED}/{done}.log").read_text()
    assert "outputs kept, not trained again" in log and "epoch" not in log, log
    # ... and the other resumed from its checkpoint and trained every epoch once
    resumed = slurm_run["resumed"]
    log = (workdir / f"logs/finetune/{CANCELLED}/{resumed}.log").read_text()
    assert f"resumed from results/checkpoints/finetune/{CANCELLED}/{resumed}.h5" in log, log
    history = (workdir / f"results/finetune/{resumed}/{CANCELLED}/history.csv").read_text()
    epochs = [line.split(",")[0] for line in history.splitlines()[1:]]
    assert epochs == [str(e) for e in range(1, SHORT["finetune"]["epochs"] + 1)], history
    assert not (workdir / f"results/checkpoints/finetune/{CANCELLED}/{resumed}.h5").exists()
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
    # the GPU plan: one batch of the pair's source alone (not its target's batch of two), linked
    training = {rule: counts.get(rule) for rule in ("pretrain", "finetune_batch", "finetune_pair")}
    assert training == {"pretrain": 1, "finetune_batch": 1, "finetune_pair": 1}, text[-3000:]
    assert "finetune" not in counts, text[-3000:]
    assert "wildcards: target=SyntheticControl, batch=CBF" in text, text[-3000:]
