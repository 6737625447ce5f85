"""benchmarks/gpu_check.py: the GPU check's own code path, run on the CPU (``--cpu --quick``),
and its offline wheel install (``--wheels``)."""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def read(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, ucr_root):
    out = tmp_path_factory.mktemp("gpu_check")
    # A generous budget: on a loaded machine nothing is skipped; the run is ~2 minutes anyway.
    done = run(
        "--cpu",
        "--quick",
        "--budget",
        "600",
        "--data",
        str(ucr_root),
        "--out",
        str(out),
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout


def test_quick_run_writes_the_speed_table(quick_run):
    out, stdout = quick_run
    gc = load_script()
    rows = read(out / "speed.csv")
    assert list(rows[0]) == gc.SPEED_COLUMNS
    expected = {
        (size, runner, str(S), precision)
        for precision, sizes in (("fp32", gc.QUICK_SIZES), ("bf16", ["tiny"]))
        for size in sizes
        for runner, S in [("fit", 1)] + [("engine", S) for S in gc.QUICK_S]
    }
    assert {(r["size"], r["runner"], r["S"], r["precision"]) for r in rows} == expected
    assert len(rows) == len(expected)
    for r in rows:
        assert r["status"] == "ok", r
        assert float(r["s_per_epoch"]) > 0 and float(r["model_epochs_per_s"]) > 0
        assert float(r["model_epochs_per_s"]) == pytest.approx(
            int(r["S"]) / float(r["s_per_epoch"]), rel=1e-3
        )
        assert float(r["ratio_vs_fit"]) > 0
        assert int(r["timed_epochs"]) >= 1
        assert r["peak_gpu_mb"] == "n/a"  # the CPU device has no memory statistics
    assert {r["precision"] for r in rows} == {"fp32", "bf16"}
    assert all(float(r["ratio_vs_fp32"]) > 0 for r in rows if r["precision"] == "bf16")
    # The printed table has one line per row (plus the accuracy table).
    assert stdout.count("| tiny 32 x 32 |") == 6
    assert "transfer_tsc.training.loop" in stdout and "imports tensorflow" not in stdout


def test_quick_run_writes_the_accuracy_table(quick_run):
    out, stdout = quick_run
    gc = load_script()
    rows = read(out / "accuracy.csv")
    assert list(rows[0]) == gc.ACCURACY_COLUMNS
    assert {(r["dataset"], r["precision"]) for r in rows} == {
        (name, p) for name in gc.QUICK_DATASETS for p in ("fp32", "bf16")
    }
    for r in rows:
        assert r["status"] == "ok", r
        assert (
            0
            <= float(r["accuracy_min"])
            <= float(r["accuracy_mean"])
            <= float(r["accuracy_max"])
            <= 1
        )
        assert int(r["epochs"]) == 3 and int(r["models"]) == 2
        assert float(r["s_per_epoch"]) > 0
    assert (out / "environment.json").is_file()


def test_samples_scale_down_when_the_predicted_epoch_does_not_fit():
    gc = load_script()
    spec = {"size": "x", "precision": "fp32", "n_train": 1000, "S": 84}
    done = [{"size": "x", "precision": "fp32", "status": "ok", "S": 8, "s_per_epoch": 1.0}]
    # Predicted 10.5 s an epoch; 3 epochs (warm-up + 2) in 30 s: 30 / 31.5 of 63 batches = 60.
    assert gc.choose_samples(spec, done, allowance=30.0, min_timed=2) == 60 * 16
    assert gc.choose_samples(spec, done, allowance=1.0, min_timed=2) == 2 * 16  # at least 2
    assert gc.choose_samples(spec, done, allowance=100.0, min_timed=2) == 1000  # all
    assert gc.choose_samples(spec, [], allowance=1.0, min_timed=2) == 1000  # nothing to go by


@pytest.mark.parametrize("make", [False, True], ids=["absent", "empty"])
def test_wheels_folder_without_wheels_is_one_error_line(tmp_path, make):
    folder = tmp_path / "wheels"
    if make:
        folder.mkdir()
    done = run("--cpu", "--wheels", str(folder), "--check", timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"gpu_check: --wheels {folder}: ")
    assert "--prepare" in lines[0]


def probe_wheel(folder: Path) -> Path:
    """A one-module pure-Python wheel, written by hand (no network, no build backend)."""
    files = {
        "gpu_check_probe/__init__.py": b"VALUE = 42\n",
        "gpu_check_probe-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\nName: "
        b"gpu-check-probe\nVersion: 0.1\n",
        "gpu_check_probe-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: "
        b"test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("gpu_check_probe-0.1.dist-info/RECORD,,")
    files["gpu_check_probe-0.1.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / "gpu_check_probe-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def test_wheels_are_installed_offline_and_importable_in_the_children(tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    probe_wheel(folder)
    done = run("--cpu", "--wheels", str(folder), "--check", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "installed 1 wheels from" in done.stdout
    line = next(line for line in done.stdout.splitlines() if "wheel module gpu_check_probe" in line)
    assert (
        ": ok (" in line and "gpu_check_" in line and line.rstrip(")").endswith("gpu_check_probe")
    )


def test_two_versions_of_a_wheel_are_refused(tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    first = probe_wheel(folder)
    first.rename(folder / "gpu_check_probe-0.1-py3-none-any.whl.keep")
    probe_wheel(folder)
    (folder / "gpu_check_probe-0.1-py3-none-any.whl.keep").rename(
        folder / "gpu_check_probe-0.2-py3-none-any.whl"
    )
    done = run("--cpu", "--wheels", str(folder), "--check", timeout=60)
    assert done.returncode == 2
    assert (
        done.stderr.strip().startswith("gpu_check: --wheels")
        and "more than one version" in done.stderr
    )
