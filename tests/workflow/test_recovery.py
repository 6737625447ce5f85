"""Interruption: real processes killed with SIGKILL, started again, compared with runs that were
never interrupted (same seed, CPU): the same histories, weights and accuracies.

* a training process of two runs (``transfer.pretrain_runs``, config ``runs: 2``: two seeds
  trained together, a checkpoint every few epochs) killed once a checkpoint exists resumes from
  it and ends exactly as the uninterrupted run, each run with its own history and weights;
* the whole ``snakemake`` run (its process group, as a pre-emption does) killed during
  pre-training and again during fine-tuning (and during DBA when the workflow has that step):
  the same command run again finishes the study, leaves every output finished before a kill
  untouched (bytes and mtime), and ends with the reference run's results;
* the same config and seed give the same accuracies.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import snakefile_command

REPO = Path(__file__).resolve().parents[2]
UCR = REPO.parent / "shared/ucr/UCRArchive_2018"
VENV_BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "CUDA_VISIBLE_DEVICES": "",
}
POLL = 0.01

# -- a training process killed and resumed ---------------------------------------------------------

TRAIN_SCRIPT = """
import sys
import numpy as np
from transfer_tsc.data import load_dataset
from transfer_tsc.settings import default_recipe
from transfer_tsc.training.engines import use_threads
from transfer_tsc.training.transfer import pretrain_runs, run_seeds

root, name, out, checkpoint, runs = sys.argv[1:6]
use_threads(2)  # as the rule scripts (threads: 2)
recipe = default_recipe(epochs=60, checkpoint_every=10, progress_every=10, lr_patience=4, seed=3)
runs = pretrain_runs(load_dataset(root, name), recipe, run_seeds(recipe.seed, int(runs)),
                     None if checkpoint == "-" else checkpoint,
                     log=lambda line: print(line, flush=True))
for run, (model, outcome) in enumerate(runs, start=1):
    np.savez(f"{out}-run{run}.npz", *model.get_weights())
    outcome.train.history.to_csv(f"{out}-run{run}.csv", index=False)
    print("test accuracy", run, outcome.test_accuracy, flush=True)
"""
RUNS = 2  # config runs: 2, seeds 3 and 4 trained together


def train(tmp_path: Path, out: str, checkpoint: str = "-") -> subprocess.Popen:
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    return subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(UCR),
            "Chinatown",
            str(tmp_path / out),
            checkpoint,
            str(RUNS),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )


def wait_for(predicate, process: subprocess.Popen, what: str, timeout: float = 600):
    start = time.monotonic()
    while not predicate():
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(
                f"the process ended ({process.returncode}) before {what}:\n{output[-3000:]}"
            )
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL)


def test_killed_training_of_two_runs_resumes_to_the_uninterrupted_result(tmp_path):
    reference = train(tmp_path, "reference")
    checkpoint = tmp_path / "checkpoint.h5"
    killed = train(tmp_path, "resumed", str(checkpoint))
    wait_for(checkpoint.exists, killed, "the first checkpoint")
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    assert not list(tmp_path.glob("resumed-run*")), "the run finished before the kill"
    assert checkpoint.exists()

    resumed = train(tmp_path, "resumed", str(checkpoint))
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out[-3000:]
    match = re.search(r"resumed from .*checkpoint\.h5 at epoch (\d+)", out)
    assert match and 10 <= int(match[1]) < 60, out[-3000:]
    assert not checkpoint.exists(), "the checkpoint is removed once training ends"
    ref_out, _ = reference.communicate(timeout=600)
    assert reference.returncode == 0, ref_out[-3000:]

    histories = []
    for run in range(1, RUNS + 1):
        expected = pd.read_csv(tmp_path / f"reference-run{run}.csv")
        history = pd.read_csv(tmp_path / f"resumed-run{run}.csv")
        assert history["epoch"].tolist() == list(range(1, 61))
        assert expected["lr"].nunique() > 1, "the schedule should change the learning rate"
        pd.testing.assert_frame_equal(history, expected, check_exact=True)
        histories.append(history)
        weights = np.load(tmp_path / f"resumed-run{run}.npz")
        expected_weights = np.load(tmp_path / f"reference-run{run}.npz")
        assert len(weights.files) == len(expected_weights.files) > 0
        for key in expected_weights.files:  # bit for bit: same seed, same threads, CPU
            np.testing.assert_array_equal(weights[key], expected_weights[key])
    assert not histories[0]["loss"].equals(histories[1]["loss"]), "the runs' seeds differ"
    accuracies = [line for line in out.splitlines() if line.startswith("test accuracy")]
    assert len(accuracies) == RUNS
    assert accuracies == [line for line in ref_out.splitlines() if line.startswith("test accuracy")]


# -- the whole snakemake run killed and re-run -----------------------------------------------------

DATASETS = ["Chinatown", "ItalyPowerDemand"]
CONFIG = {
    "ucr_root": str(UCR),
    "datasets": DATASETS,
    "seed": 1,
    "pretrain": {"epochs": 60},
    "finetune": {"epochs": 40},
    "training": {"progress_every": 10, "checkpoint_every": 10, "lr_patience": 5},
}
DBA_RULES = ("dba", "prototypes", "class_prototypes")


def snakemake_command(workdir: Path, *targets: str, config: dict = CONFIG) -> list[str]:
    return snakefile_command(workdir, config, *targets, config_name="config.yaml")


def run_to_end(workdir: Path, *targets: str) -> str:
    result = subprocess.run(
        snakemake_command(workdir, *targets), capture_output=True, text=True, env=ENV, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result.stderr


def incomplete(workdir: Path) -> set[str]:
    """Outputs Snakemake has marked as being written by a job that has not finished."""
    folder = workdir / ".snakemake/incomplete"
    names = set()
    for marker in folder.iterdir() if folder.is_dir() else []:
        try:
            names.add(base64.urlsafe_b64decode(marker.name).decode())
        except ValueError:
            pass
    return names


def finished_outputs(workdir: Path) -> dict[str, tuple[str, int, int, int]]:
    """Every finished output file under results/: path -> (sha256, mtime_ns, inode, links).
    Checkpoints and temporaries are not outputs; a file Snakemake marks incomplete is not
    finished."""
    marked = incomplete(workdir)
    found = {}
    for path in sorted((workdir / "results").rglob("*")):
        relative = path.relative_to(workdir).as_posix()
        if not path.is_file() or relative.startswith("results/checkpoints/"):
            continue
        if any(part.startswith(".") for part in path.relative_to(workdir).parts):
            continue
        if relative in marked or any(relative.startswith(m.rstrip("/") + "/") for m in marked):
            continue
        stat = path.stat()
        found[relative] = (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            stat.st_mtime_ns,
            stat.st_ino,
            stat.st_nlink,
        )
    return found


def start_study(workdir: Path, log_path: Path) -> subprocess.Popen:
    command = snakemake_command(workdir)
    with open(log_path, "w") as log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=ENV, start_new_session=True
        )


def training_in(workdir: Path, stage: str, since: float):
    """True once a job of ``stage`` has written a checkpoint in this run (it is mid-training)."""
    folder = workdir / "results/checkpoints/fcn" / stage

    def written() -> bool:
        for path in folder.rglob("[!.]*.h5") if folder.is_dir() else []:  # not a temporary
            try:
                if path.stat().st_mtime > since:
                    return True
            except FileNotFoundError:  # removed as its job ended
                pass
        return False

    return written


def job_started(log_path: Path, rule: str):
    started = re.compile(rf"^(local)?rule {rule}:", re.M)
    return lambda: log_path.exists() and bool(started.search(log_path.read_text()))


def kill_study_in_each_stage(workdir: Path, stages: list[str]) -> list[dict]:
    """Start the study, SIGKILL its whole process group as soon as a job of a stage not yet
    interrupted is running; repeat until every stage has been interrupted once. Return what was
    finished at each kill."""
    snapshots, pending = [], list(stages)
    for attempt in range(len(stages)):
        log_path = workdir / f"killed-{attempt}.log"
        workdir.mkdir(parents=True, exist_ok=True)
        since = time.time() - 1
        process = start_study(workdir, log_path)
        ready = {
            stage: (
                training_in(workdir, stage, since)
                if stage in ("pretrain", "finetune")
                else job_started(log_path, stage)
            )
            for stage in pending
        }
        hit: list[str] = []

        def any_ready():
            hit[:] = [stage for stage, check in ready.items() if check()]
            return bool(hit)

        try:
            wait_for(any_ready, process, f"a job of {', '.join(pending)} (run {attempt})")
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        time.sleep(0.2)
        locks = workdir / ".snakemake/locks"
        assert locks.is_dir() and any(locks.iterdir()), "a SIGKILLed run leaves its lock behind"
        snapshots.append(finished_outputs(workdir))
        pending = [stage for stage in pending if stage not in hit]
        if not pending:
            return snapshots
    raise AssertionError(f"never interrupted during {pending}")


def dba_rule(workdir: Path) -> str | None:
    dry = subprocess.run(
        snakemake_command(workdir, "-n"), capture_output=True, text=True, env=ENV, timeout=300
    )
    assert dry.returncode == 0, dry.stderr[-3000:]
    rules = set(re.findall(r"^(\w+)\s+\d+\s*$", dry.stdout.split("Job stats:")[-1], re.M))
    return next((r for r in DBA_RULES if r in rules), None)


def hdf5_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file (a model's weights, prototypes, ...) by its path."""
    with h5py.File(path) as f:
        out = {}
        f.visititems(
            lambda name, obj: (
                out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("reference")
    run_to_end(workdir)
    return workdir


@pytest.mark.workflow
def test_snakemake_killed_during_each_stage_resumes_and_ends_as_uninterrupted(tmp_path, reference):
    work = tmp_path / "study"
    stages = ["pretrain", "finetune"]
    rule = dba_rule(tmp_path / "dry-run")
    if rule is not None:  # the similarity step (per-class DBA prototypes) is in the workflow
        stages.append(rule)
    snapshots = kill_study_in_each_stage(work, stages)
    for earlier, later in zip(snapshots, snapshots[1:]):
        assert set(earlier) <= set(later)

    stderr = run_to_end(work)
    assert "removed the lock left by an interrupted run" in stderr
    for stage in ("pretrain", "finetune"):  # the killed training jobs resumed from checkpoints
        logs = "".join(p.read_text() for p in (work / "logs/fcn" / stage).rglob("*.log"))
        assert re.search(
            rf"resumed from results/checkpoints/fcn/{stage}/\S+\.h5 at epoch [1-9]", logs
        ), stage

    final = finished_outputs(work)
    for snapshot in snapshots:
        for path, (digest, mtime, inode, links) in snapshot.items():
            assert final[path][0] == digest, f"{path} changed after the kill"
            # every writer renames a new file into place: a rewrite is a new inode
            assert final[path][2] == inode, f"{path} was written again after the kill"
            if links == 1 == final[path][3]:
                assert final[path][1] == mtime, f"{path} was written again after the kill"
            # (a batch's per-pair files are hard-linked as the pair's outputs, and Snakemake
            # touches a finished output older than its input: the shared inode's mtime moves)
    assert not list((work / "results/checkpoints").rglob("*.h5")), (
        "checkpoints are removed at the end"
    )
    assert not [
        p
        for p in (work / "results").rglob(".*")
        if "tmp" in p.name and "checkpoints" not in p.parts  # a killed checkpoint write may stay
    ], "temporaries left"

    # ... and ends as the run that was never interrupted
    reference_files = finished_outputs(reference)
    assert set(final) == set(reference_files)
    for path in final:
        if path.endswith("history.csv"):
            pd.testing.assert_frame_equal(
                pd.read_csv(work / path), pd.read_csv(reference / path), check_exact=True
            )
        elif path.endswith(".h5"):
            got, expected = hdf5_arrays(work / path), hdf5_arrays(reference / path)
            assert got.keys() == expected.keys()
            for key in expected:
                np.testing.assert_array_equal(got[key], expected[key], err_msg=f"{path}: {key}")
    for table in ("results/fcn/scratch_accuracy.csv", "results/fcn/transfer_accuracy.csv"):
        got, expected = pd.read_csv(work / table), pd.read_csv(reference / table)
        got = got.drop(columns=[c for c in got.columns if c == "train_seconds"])
        expected = expected.drop(columns=[c for c in expected.columns if c == "train_seconds"])
        pd.testing.assert_frame_equal(got, expected, check_exact=True)

    again = subprocess.run(
        snakemake_command(work, "-n"), capture_output=True, text=True, env=ENV, timeout=300
    )
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.workflow
def test_same_config_and_seed_give_the_same_accuracies(tmp_path, reference):
    target = "results/fcn/pretrain/Chinatown/metrics.csv"
    run_to_end(tmp_path, target)
    got, expected = pd.read_csv(tmp_path / target), pd.read_csv(reference / target)
    columns = ["test_accuracy", "test_loss", "train_loss", "best_epoch"]
    pd.testing.assert_frame_equal(got[columns], expected[columns], check_exact=True)
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "results/fcn/pretrain/Chinatown/history.csv"),
        pd.read_csv(reference / "results/fcn/pretrain/Chinatown/history.csv"),
        check_exact=True,
    )


@pytest.mark.workflow
def test_a_live_run_keeps_its_lock(tmp_path):
    """The stale-lock removal never takes the lock of a run that is still going."""
    work = tmp_path / "live"
    command = snakemake_command(work)
    log = open(tmp_path / "live.log", "w")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=ENV, start_new_session=True
    )
    try:
        wait_for(
            lambda: (work / ".snakemake/transfer_tsc-lock-owner").exists(),
            process,
            "the run to start",
        )
        second = subprocess.run(
            snakemake_command(work), capture_output=True, text=True, env=ENV, timeout=300
        )
        assert second.returncode != 0
        assert "Directory cannot be locked" in second.stderr
        assert "removed the lock" not in second.stderr
        assert process.poll() is None
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


@pytest.mark.workflow
def test_a_job_finished_before_the_kill_is_not_made_again(tmp_path):
    """SIGKILL between a job's end (its rule script wrote the finished record, every output
    complete, its process still exiting: TensorFlow's teardown) and Snakemake taking note leaves
    the outputs marked incomplete; the same command run again keeps them (the record's sha256
    still match) instead of training again."""
    dataset = "Chinatown"
    config = {**CONFIG, "datasets": [dataset], "pretrain": {"epochs": 2}}
    target = f"results/fcn/pretrain/{dataset}/metrics.csv"
    outputs = [
        f"results/fcn/pretrain/{dataset}/{name}"
        for name in ("model.h5", "history.csv", "metrics.csv")
    ]
    record = f".snakemake/transfer_tsc-finished/pretrain/dataset={dataset},network=fcn.json"
    for attempt in range(3):  # the kill must land in the window; the teardown takes long
        work = tmp_path / f"attempt-{attempt}"
        command = snakemake_command(work, target, config=config)
        with open(work / "killed.log", "w") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=ENV, start_new_session=True
            )
        try:
            wait_for(
                lambda: (work / record).exists(), process, "the pretrain job's finished record"
            )
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the whole run at once, as a pre-emption
            except ProcessLookupError:  # the run had ended
                pass
            process.wait()
        if set(outputs) <= incomplete(work) and all((work / path).is_file() for path in outputs):
            break
    else:
        raise AssertionError("the kill never came before Snakemake took note of the job's end")
    written = {}
    for path in outputs:
        stat = (work / path).stat()
        written[path] = (
            hashlib.sha256((work / path).read_bytes()).hexdigest(),
            stat.st_mtime_ns,
            stat.st_ino,
        )
    job_log = (work / f"logs/fcn/pretrain/{dataset}.log").read_text()

    again = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=900)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-5000:]
    said = again.stdout + again.stderr
    assert "Note: kept 3 outputs of jobs that had finished" in again.stderr
    assert not re.search(r"^(local)?rule pretrain:", said, re.M), said[-3000:]
    assert not set(outputs) & incomplete(work)
    for path, (digest, mtime, inode) in written.items():
        stat = (work / path).stat()
        assert hashlib.sha256((work / path).read_bytes()).hexdigest() == digest, path
        assert (stat.st_mtime_ns, stat.st_ino) == (mtime, inode), f"{path} was written again"
    assert (work / f"logs/fcn/pretrain/{dataset}.log").read_text() == job_log


def test_an_output_changed_after_its_record_stays_incomplete(tmp_path, monkeypatch):
    """keep_finished_outputs removes Snakemake's incomplete markers (its own FilePersistence) of
    the jobs whose outputs all still have their recorded sha256 and whose config is the run's,
    and of those only; while a run holds the lock it removes none."""
    from types import SimpleNamespace

    from snakemake.persistence.file import FilePersistence
    from snakemake.settings.types import PersistenceBackend

    from transfer_tsc.workflow import recovery, runner

    monkeypatch.chdir(tmp_path)
    snakemake_workflow = SimpleNamespace(
        workflow_settings=SimpleNamespace(persistence_backend=PersistenceBackend.FILE),
        deployment_settings=SimpleNamespace(conda_prefix=None, apptainer_prefix=None),
    )
    jobs = {}
    for dataset in ("Coffee", "GunPoint", "Beef"):
        job = _job(tmp_path, [])
        job.rule, job.wildcards = "pretrain", _Wildcards(dataset=dataset)
        job.output = [
            f"results/fcn/pretrain/{dataset}/model.h5",
            f"results/fcn/pretrain/{dataset}/metrics.csv",
        ]
        with runner.rule_script(job, keep_finished=True):
            for path in job.output:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text(f"{dataset} {path}")
        jobs[dataset] = job
    assert recovery.keep_finished_outputs(snakemake_workflow, JOB_CONFIG) is None  # nothing marked

    persistence = FilePersistence()  # as Snakemake marks a job's outputs when it starts it
    for job in jobs.values():
        for path in job.output:
            persistence._mark_incomplete(path, None)
    Path(jobs["GunPoint"].output[1]).write_text("rewritten since")  # not the job's output
    Path(jobs["Beef"].output[0]).unlink()
    every_output = {path for job in jobs.values() for path in job.output}
    assert incomplete(tmp_path) == every_output

    lock = tmp_path / ".snakemake/locks/0.input.lock"
    lock.write_text("a live run\n")
    assert recovery.keep_finished_outputs(snakemake_workflow, JOB_CONFIG) is None
    assert incomplete(tmp_path) == every_output
    lock.unlink()

    other_settings = {**JOB_CONFIG, "seed": 1}  # a changed config: the jobs are made again
    assert recovery.keep_finished_outputs(snakemake_workflow, other_settings) is None
    assert incomplete(tmp_path) == every_output

    note = recovery.keep_finished_outputs(snakemake_workflow, JOB_CONFIG)
    assert note is not None and note.startswith("kept 2 outputs of jobs")
    assert incomplete(tmp_path) == every_output - set(jobs["Coffee"].output)
    assert FilePersistence()._filter_incomplete_keys(every_output) == every_output - set(
        jobs["Coffee"].output
    )
    assert (
        recovery.keep_finished_outputs(snakemake_workflow, JOB_CONFIG) is None
    )  # nothing left to keep


# The validated config a test job ran under (its finished record keeps the digest).
JOB_CONFIG = {"seed": 0, "pretrain": {"epochs": 2}}


class _Wildcards(dict):
    """The part of Snakemake's Wildcards that rule_script reads."""


def _job(tmp_path: Path, outputs: list[str]):
    from types import SimpleNamespace

    return SimpleNamespace(
        rule="finetune",
        wildcards=_Wildcards(source="Coffee", target="GunPoint"),
        output=[str(tmp_path / name) for name in outputs],
        log=[str(tmp_path / "job.log")],
        resources={},
        config=JOB_CONFIG,
    )


def test_a_job_finished_in_this_run_keeps_its_outputs_when_run_again(tmp_path, monkeypatch):
    """A retried SLURM group job runs every member again: rule_script(keep_finished=True) lets
    the members that had finished exit at once (status 0) with their files, and only those."""
    from transfer_tsc.workflow import recovery, runner

    monkeypatch.chdir(tmp_path)
    job = _job(tmp_path, ["metrics.csv", "history.csv"])

    def train(content: str) -> int:
        runs = 0
        try:
            with runner.rule_script(job, keep_finished=True):
                runs += 1
                for path in job.output:
                    Path(path).write_text(content)
        except SystemExit as stop:
            assert stop.code == 0
        return runs

    assert train("first") == 1
    assert train("second") == 0  # finished in this run: kept
    assert Path(job.output[0]).read_text() == "first"
    assert "outputs kept, not trained again" in Path(job.log[0]).read_text()

    Path(job.output[1]).write_text("changed")  # not the files it wrote: trained again
    assert train("third") == 1 and train("fourth") == 0

    recovery.clear_finished_records()  # a new run (onstart): trained again
    assert train("fifth") == 1

    def fail() -> None:
        with runner.rule_script(job, keep_finished=True):
            raise runner.PipelineError("bad input")

    recovery.clear_finished_records()
    with pytest.raises(SystemExit) as stop:
        fail()
    assert stop.value.code == 1
    assert train("sixth") == 1  # a job that failed is not recorded as finished

    other = _job(tmp_path, ["metrics.csv", "history.csv"])
    other.wildcards = _Wildcards(source="Beef", target="GunPoint")
    assert recovery.finished_in_this_run(job) and not recovery.finished_in_this_run(other)


def test_a_finished_batch_folder_is_kept_after_snakemake_marks_it(tmp_path, monkeypatch):
    """A directory() output (a finetune_batch folder) gets Snakemake's .snakemake_timestamp
    after the job's record is written: the retried job still finds it finished."""
    from transfer_tsc.workflow import recovery, runner

    monkeypatch.chdir(tmp_path)
    job = _job(tmp_path, ["batch"])

    def train(content: str) -> int:
        runs = 0
        try:
            with runner.rule_script(job, keep_finished=True):
                runs += 1
                folder = Path(job.output[0]) / "CBF"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "metrics.csv").write_text(content)
        except SystemExit as stop:
            assert stop.code == 0
        return runs

    assert train("first") == 1
    (Path(job.output[0]) / recovery.SNAKEMAKE_MARKER).touch()  # Snakemake, after the job
    assert train("second") == 0
    assert (Path(job.output[0]) / "CBF/metrics.csv").read_text() == "first"
    (Path(job.output[0]) / "CBF/history.csv").write_text("not written by the job")
    assert train("third") == 1


def test_a_job_over_its_memory_fails_even_when_the_interrupt_is_swallowed(tmp_path, monkeypatch):
    """The watchdog interrupts the main thread, also where the process ignores SIGINT (as a job's
    process can); code that catches the KeyboardInterrupt (as TensorFlow's C++ may, then trains
    on) still ends the job with status 1, not recorded as finished."""
    import signal

    from transfer_tsc.workflow import recovery, runner

    monkeypatch.chdir(tmp_path)
    job = _job(tmp_path, ["metrics.csv"])
    job.resources = {"mem_mb": 1}  # this process is far above 1 MB
    interrupted = 0
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.raises(SystemExit) as stop:
            with runner.rule_script(job, keep_finished=True):
                deadline = time.monotonic() + 2.0
                while time.monotonic() < deadline:
                    try:
                        time.sleep(0.05)
                    except KeyboardInterrupt:
                        interrupted += 1
                Path(job.output[0]).write_text("written after the interrupt")
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # restored
    finally:
        signal.signal(signal.SIGINT, previous)
    assert stop.value.code == 1 and interrupted == 1
    assert "memory use" in Path(job.log[0]).read_text()
    assert not recovery.finished_in_this_run(job)
