"""The model zoo on a real (small, partial) study: export by the command and by the workflow,
the manifest, checksums verified on load, tampered / truncated / missing files refused by name,
and recommending from a zoo as from the study."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile

import pandas as pd
import pytest
from conftest import SHORT_TRAINING, run_snakemake
from test_recommend import transfer_tsc

from transfer_tsc import zoo
from transfer_tsc.data import load_dataset
from transfer_tsc.errors import InputError

pytestmark = pytest.mark.workflow  # every test here runs Snakemake

STUDY = ["GunPoint", "ItalyPowerDemand", "MoteStrain"]
HELD_OUT = "Chinatown"


@pytest.fixture(scope="module")
def study(tmp_path_factory, ucr_root):
    """The workflow's zoo of three datasets (so every model and prototype file exists), and a
    partial results folder beside it: MoteStrain's model removed."""
    workdir = tmp_path_factory.mktemp("zoo_study")
    config = {"ucr_root": str(ucr_root), "datasets": STUDY, **SHORT_TRAINING}
    run_snakemake(workdir, config, "results/fcn/zoo", "results/fcn/zoo.tar.gz")
    partial = workdir / "partial"
    shutil.copytree(workdir / "results/fcn/pretrain", partial / "fcn/pretrain")
    shutil.copytree(workdir / "results/prototypes", partial / "prototypes")
    (partial / "fcn/pretrain/MoteStrain/model.h5").unlink()
    return workdir, config, partial


def test_workflow_zoo_manifest(study, ucr_root):
    workdir, config, _ = study
    folder = workdir / "results/fcn/zoo"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "transfer-tsc-zoo" and manifest["format_version"] == 1
    assert sorted(manifest["datasets"]) == STUDY
    assert manifest["config"]["datasets"] == STUDY
    assert manifest["config"]["pretrain"]["epochs"] == SHORT_TRAINING["pretrain"]["epochs"]
    assert {"python", "tensorflow", "keras", "dtaidistance", "numpy"} <= set(manifest["software"])
    for name, entry in manifest["datasets"].items():
        data = load_dataset(ucr_root, name)
        assert entry["classes"] == list(data.classes)
        assert entry["train_size"] == len(data.y_train) and entry["length"] == data.length
        assert entry["model"] == f"models/{name}.h5"
        assert entry["prototypes"] == f"prototypes/{name}.h5"
        original = workdir / f"results/fcn/pretrain/{name}/model.h5"
        assert (folder / entry["model"]).read_bytes() == original.read_bytes()
    assert len(manifest["files"]) == 3 * len(STUDY)
    for relative, expected in manifest["files"].items():
        content = (folder / relative).read_bytes()
        assert expected["sha256"] == hashlib.sha256(content).hexdigest()
        assert expected["bytes"] == len(content)
    # the archive holds the same files and verifies
    with tarfile.open(workdir / "results/fcn/zoo.tar.gz") as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    assert names == {f"zoo/{r}" for r in manifest["files"]} | {"zoo/manifest.json"}
    with zoo.open_zoo(workdir / "results/fcn/zoo.tar.gz") as opened:
        assert [r.name for r in opened.references] == STUDY
        extracted = opened.root
        assert all(r.model.is_file() for r in opened.references)
    assert not extracted.exists()  # the temporary copy is removed on close


def test_export_partial_study_and_recommend_from_zoo(study, ucr_root, tmp_path):
    workdir, _, partial = study
    out = tmp_path / "myzoo.tar.gz"
    exported = transfer_tsc("export-zoo", "--study", str(partial), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "3 datasets (2 pre-trained models, 3 prototype files)" in exported.stdout
    verified = transfer_tsc("verify-zoo", str(out))
    assert verified.returncode == 0 and "8 files match their sha256" in verified.stdout
    with zoo.open_zoo(out) as opened:
        entry = opened.manifest["datasets"]["MoteStrain"]
        assert entry["model"] is None and entry["prototypes"] == "prototypes/MoteStrain.h5"
        # without the config the entry comes from the prototype file
        assert entry["train_size"] == 20 and entry["classes"] == ["1", "2"]
        assert opened.config is None

    from_study = tmp_path / "from_study.csv"
    from_zoo = tmp_path / "from_zoo.csv"
    for flag, path, csv in (("--study", partial, from_study), ("--zoo", out, from_zoo)):
        result = transfer_tsc(
            "recommend",
            "--dataset",
            str(ucr_root / HELD_OUT),
            flag,
            str(path),
            "--top",
            "0",
            "--score",
            "logme",
            "--out",
            str(csv),
        )
        assert result.returncode == 0, result.stderr
        assert "no pre-trained model (yet) for MoteStrain" in result.stdout.splitlines()[-1]
    pd.testing.assert_frame_equal(pd.read_csv(from_study), pd.read_csv(from_zoo))
    # the zoo's models scored: MoteStrain, without one, last with empty scores
    ranked = pd.read_csv(from_zoo)
    assert (
        ranked["source"].iloc[-1] == "MoteStrain"
        and ranked[["logme", "leep"]].iloc[-1].isna().all()
    )
    assert (
        ranked["logme_rank"].iloc[:2].tolist() == [1, 2] and ranked["logme"].iloc[:2].notna().all()
    )

    # recommend from the workflow's zoo folder, fine-tuning the nearest with 1 epoch
    tuned = tmp_path / "tuned.csv"
    result = transfer_tsc(
        "recommend",
        "--dataset",
        str(ucr_root / HELD_OUT),
        "--zoo",
        str(workdir / "results/fcn/zoo"),
        "--top",
        "1",
        "--finetune",
        "--epochs",
        "1",
        "--out",
        str(tuned),
    )
    assert result.returncode == 0, result.stderr
    row = pd.read_csv(tuned).iloc[0]
    assert row["source"] == ranked.sort_values("dtw_rank")["source"].iloc[0]
    assert 0 <= row["transfer_accuracy"] <= 1 and 0 <= row["scratch_accuracy"] <= 1


def _copy(folder, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(folder, target)
    return target


@pytest.mark.parametrize(
    "damage, message",
    [
        ("flip", "models/GunPoint.h5: sha256 differs from the manifest"),
        ("truncate", "prototypes/ItalyPowerDemand.h5: 100 bytes, the manifest says"),
        ("delete", "metrics/MoteStrain.csv: missing (listed in manifest.json)"),
        ("manifest", "manifest.json: not valid JSON"),
    ],
)
def test_damaged_zoo_is_refused_by_name(study, ucr_root, tmp_path, damage, message):
    workdir, _, _ = study
    folder = _copy(workdir / "results/fcn/zoo", tmp_path)
    if damage == "flip":
        path = folder / "models/GunPoint.h5"
        content = bytearray(path.read_bytes())
        content[len(content) // 2] ^= 0xFF
        path.write_bytes(bytes(content))
    elif damage == "truncate":
        path = folder / "prototypes/ItalyPowerDemand.h5"
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "delete":
        (folder / "metrics/MoteStrain.csv").unlink()
    else:
        text = (folder / "manifest.json").read_text()
        (folder / "manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match=re.escape(message)):
        zoo.open_zoo(folder)
    result = transfer_tsc("recommend", "--dataset", str(ucr_root / HELD_OUT), "--zoo", str(folder))
    assert result.returncode == 1 and message in result.stderr and str(folder) in result.stderr
    assert "Traceback" not in result.stderr
    # the same damage inside an archive names the file inside the archive
    archive = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="zoo")
    packed = transfer_tsc("verify-zoo", str(archive))
    assert packed.returncode == 1 and f"{archive}:" in packed.stderr and message in packed.stderr


def test_bad_archives(study, tmp_path):
    workdir, _, _ = study
    whole = (workdir / "results/fcn/zoo.tar.gz").read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    result = transfer_tsc("verify-zoo", str(truncated))
    assert result.returncode == 1
    assert f"{truncated}: not a readable zoo archive (corrupt or truncated?)" in result.stderr

    not_a_zoo = tmp_path / "other.tar.gz"
    with tarfile.open(not_a_zoo, "w:gz") as tar:
        tar.add(workdir / "results/fcn/pretrain", arcname="pretrain")
    result = transfer_tsc("verify-zoo", str(not_a_zoo))
    assert result.returncode == 1 and "no manifest.json in the archive" in result.stderr

    result = transfer_tsc("verify-zoo", str(tmp_path / "absent"))
    assert result.returncode == 1 and "model zoo not found" in result.stderr

    with pytest.raises(InputError, match="nothing to export"):
        zoo.export_zoo([], tmp_path / "empty")


# Export verifies what it packs (issue 22, item 4): each file's sha256 against the one its job
# recorded when it finished (results/records), and each file readable (models loaded).


def _study_copy(workdir, tmp_path, records: bool = True):
    """A copy of the workflow's study results (models, metrics, prototypes, and the jobs'
    records unless ``records`` is false: a study from before records were kept), mtimes kept."""
    results = tmp_path / "results"
    for part in ("fcn/pretrain", "prototypes", *(["records"] if records else [])):
        shutil.copytree(workdir / "results" / part, results / part)
    return results


def _keeping_mtime(path, change) -> None:
    """Apply ``change(path)`` and put the file's access and modification times back."""
    before = path.stat()
    change(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _truncate(path, size: int = 100) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)


def _flip_middle_byte(path) -> None:
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))


def _nothing_written(folder, out) -> None:
    """No zoo at ``out`` and no staging folder of it left in ``folder``."""
    assert not out.exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(f".{out.name}.")]


def test_export_refuses_a_model_truncated_with_its_mtime_kept(study, tmp_path):
    workdir, _, _ = study
    results = _study_copy(workdir, tmp_path)
    model = results / "fcn/pretrain/GunPoint/model.h5"
    mtime = model.stat().st_mtime_ns
    _keeping_mtime(model, _truncate)
    assert model.stat().st_mtime_ns == mtime and model.stat().st_size == 100
    existing = tmp_path / "zoo"  # a zoo already there stays as it was
    shutil.copytree(workdir / "results/fcn/zoo", existing)
    before = {p.relative_to(existing): p.read_bytes() for p in existing.rglob("*") if p.is_file()}
    for out in (existing, tmp_path / "zoo.tar.gz"):
        result = transfer_tsc("export-zoo", "--study", "results", "--out", out.name, cwd=tmp_path)
        assert result.returncode == 1, result.stdout
        assert (
            "Error: results/fcn/pretrain/GunPoint/model.h5: sha256 differs from the one recorded "
            "when its job finished (results/records/pretrain/dataset=GunPoint,network=fcn.json): "
            "corrupt or altered since; not exported (re-run the study: snakemake makes it again)"
        ) in result.stderr
        assert "Traceback" not in result.stderr
    _nothing_written(tmp_path, tmp_path / "zoo.tar.gz")
    after = {p.relative_to(existing): p.read_bytes() for p in existing.rglob("*") if p.is_file()}
    assert after == before and not [p for p in tmp_path.iterdir() if p.name.startswith(".zoo.")]


def test_export_refuses_a_byte_flipped_model_by_its_recorded_sha256(study, tmp_path):
    """Same size, same mtime, still a loadable model: only the record tells."""
    from transfer_tsc.training.transfer import load_model

    workdir, _, _ = study
    results = _study_copy(workdir, tmp_path)
    model = results / "fcn/pretrain/ItalyPowerDemand/model.h5"
    size = model.stat().st_size
    _keeping_mtime(model, _flip_middle_byte)
    assert model.stat().st_size == size
    load_model(model)  # the damage is inside the weights: the model still loads
    out = tmp_path / "zoo"
    record = results / "records/pretrain/dataset=ItalyPowerDemand,network=fcn.json"
    with pytest.raises(InputError) as refused:
        zoo.export_zoo(zoo.study_references(results), out)
    assert str(refused.value) == (
        f"{model}: sha256 differs from the one recorded when its job finished ({record}): "
        "corrupt or altered since; not exported (re-run the study: snakemake makes it again)"
    )
    _nothing_written(tmp_path, out)


NOT_A_MODEL = "not a readable Keras model (corrupt or truncated?)"
DELETE_AND_RERUN = "; not exported (delete it and re-run the study: snakemake makes it again)"


@pytest.mark.parametrize(
    "kind, damage, message",
    [
        ("model", "truncate", f"fcn/pretrain/GunPoint/model.h5: {NOT_A_MODEL}"),
        ("model", "prototypes", f"fcn/pretrain/GunPoint/model.h5: {NOT_A_MODEL}"),
        (
            "prototypes",
            "truncate",
            "prototypes/MoteStrain.h5: not a readable HDF5 file (corrupt or truncated?)",
        ),
        (
            "prototypes",
            "model",
            f"prototypes/MoteStrain.h5: not a prototypes file (missing 'format'){DELETE_AND_RERUN}",
        ),
        (
            "metrics",
            "truncate",
            "fcn/pretrain/GunPoint/metrics.csv: test_loss has no value; delete it "
            "to have its job (rule pretrain, GunPoint) make it again; not exported",
        ),
    ],
    ids=[
        "model-truncated",
        "model-replaced",
        "prototypes-truncated",
        "prototypes-replaced",
        "metrics-truncated",
    ],
)
def test_export_without_records_refuses_an_unreadable_file(study, tmp_path, kind, damage, message):
    """A study from before records were kept: each file is loaded (models) or read."""
    workdir, _, _ = study
    results = _study_copy(workdir, tmp_path, records=False)
    path = (
        results
        / {
            "model": "fcn/pretrain/GunPoint/model.h5",
            "prototypes": "prototypes/MoteStrain.h5",
            "metrics": "fcn/pretrain/GunPoint/metrics.csv",
        }[kind]
    )
    if damage == "truncate":
        _keeping_mtime(path, _truncate)
    else:  # another HDF5 file of the study in its place
        other = (
            "prototypes/GunPoint.h5" if damage == "prototypes" else "fcn/pretrain/GunPoint/model.h5"
        )
        _keeping_mtime(path, lambda p: p.write_bytes((results / other).read_bytes()))
    out = tmp_path / "zoo.tar.gz"
    with pytest.raises(InputError, match=re.escape(f"{results}/{message}")) as refused:
        zoo.export_zoo(zoo.study_references(results), out)
    refusal = str(refused.value)
    assert refusal.endswith("; not exported" if kind == "metrics" else DELETE_AND_RERUN)
    assert "\n" not in refusal
    _nothing_written(tmp_path, out)


def test_export_refuses_a_damaged_prototypes_file_by_its_record(study, tmp_path):
    workdir, _, _ = study
    results = _study_copy(workdir, tmp_path)
    path = results / "prototypes/MoteStrain.h5"
    _keeping_mtime(path, _flip_middle_byte)
    out = tmp_path / "zoo"
    with pytest.raises(
        InputError,
        match=re.escape(
            f"{path}: sha256 differs from the one recorded when its job finished "
            f"({results}/records/prototypes/dataset=MoteStrain.json)"
        ),
    ):
        zoo.export_zoo(zoo.study_references(results), out)
    _nothing_written(tmp_path, out)


def test_intact_study_exports_and_verifies_with_its_models_loaded(study, tmp_path, caplog):
    workdir, _, _ = study
    with_records = _study_copy(workdir, tmp_path / "new")
    out = tmp_path / "zoo.tar.gz"
    with caplog.at_level("INFO", logger="transfer_tsc"):
        manifest = zoo.export_zoo(zoo.study_references(with_records), out)
    assert len(manifest["files"]) == 3 * len(STUDY)
    assert "no record" not in caplog.text  # every file checked against its record
    verified = transfer_tsc("verify-zoo", str(out))
    assert verified.returncode == 0, verified.stderr
    assert "9 files match their sha256" in verified.stdout
    with zoo.open_zoo(out, load_models=True) as opened:
        assert [r.name for r in opened.references] == STUDY

    older = _study_copy(workdir, tmp_path / "old", records=False)  # no records: said once
    caplog.clear()
    with caplog.at_level("INFO", logger="transfer_tsc"):
        zoo.export_zoo(zoo.study_references(older), tmp_path / "older-zoo")
    notes = [r.getMessage() for r in caplog.records if "no record" in r.getMessage()]
    assert notes == [
        f"9 of 9 files have no record of the job that made them ({older}/records: a study "
        "from before records were kept): they are checked by loading them only, not against "
        "their sha256 when made"
    ]


def test_a_zoo_packed_from_a_corrupt_model_is_refused_when_its_models_are_loaded(study, tmp_path):
    """A zoo exported by an older version from a truncated model: its manifest has the corrupt
    file's sha256, so only loading the model tells."""
    workdir, _, _ = study
    folder = _copy(workdir / "results/fcn/zoo", tmp_path)
    model = folder / "models/MoteStrain.h5"
    _truncate(model, 2000)
    manifest = json.loads((folder / "manifest.json").read_text())
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    manifest["files"]["models/MoteStrain.h5"] = {"sha256": digest, "bytes": 2000}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    zoo.open_zoo(folder).close()  # the manifest matches
    with pytest.raises(InputError, match=re.escape(f"{model}: {NOT_A_MODEL}")) as refused:
        zoo.open_zoo(folder, load_models=True)
    assert str(refused.value).endswith("; refused (export the zoo again from an intact study)")
    archive = tmp_path / "old.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="zoo")
    with pytest.raises(
        InputError, match=re.escape(f"{archive}:models/MoteStrain.h5: {NOT_A_MODEL}")
    ):
        zoo.open_zoo(archive, load_models=True)
