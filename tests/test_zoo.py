"""The model zoo on a real (small, partial) study: export by the command and by the workflow,
the manifest, checksums verified on load, tampered / truncated / missing files refused by name,
and recommending from a zoo as from the study."""

from __future__ import annotations

import hashlib
import json
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

STUDY = ["GunPoint", "ItalyPowerDemand", "MoteStrain"]
HELD_OUT = "Chinatown"


@pytest.fixture(scope="module")
def study(tmp_path_factory, ucr_root):
    """The workflow's zoo of three datasets (so every model and prototype file exists), and a
    partial results folder beside it: MoteStrain's model removed."""
    workdir = tmp_path_factory.mktemp("zoo_study")
    config = {"ucr_root": str(ucr_root), "datasets": STUDY, **SHORT_TRAINING}
    run_snakemake(workdir, config, "results/zoo", "results/zoo.tar.gz")
    partial = workdir / "partial"
    shutil.copytree(workdir / "results/pretrain", partial / "pretrain")
    shutil.copytree(workdir / "results/prototypes", partial / "prototypes")
    (partial / "pretrain/MoteStrain/model.h5").unlink()
    return workdir, config, partial


def test_workflow_zoo_manifest(study, ucr_root):
    workdir, config, _ = study
    folder = workdir / "results/zoo"
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
        original = workdir / f"results/pretrain/{name}/model.h5"
        assert (folder / entry["model"]).read_bytes() == original.read_bytes()
    assert len(manifest["files"]) == 3 * len(STUDY)
    for relative, expected in manifest["files"].items():
        content = (folder / relative).read_bytes()
        assert expected["sha256"] == hashlib.sha256(content).hexdigest()
        assert expected["bytes"] == len(content)
    # the archive holds the same files and verifies
    with tarfile.open(workdir / "results/zoo.tar.gz") as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    assert names == {f"zoo/{r}" for r in manifest["files"]} | {"zoo/manifest.json"}
    with zoo.open_zoo(workdir / "results/zoo.tar.gz") as opened:
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
            "recommend", "--dataset", str(ucr_root / HELD_OUT), flag, str(path),
            "--top", "0", "--score", "logme", "--out", str(csv),
        )
        assert result.returncode == 0, result.stderr
        assert "no pre-trained model (yet) for MoteStrain" in result.stdout.splitlines()[-1]
    pd.testing.assert_frame_equal(pd.read_csv(from_study), pd.read_csv(from_zoo))
    # the zoo's models scored: MoteStrain, without one, last with empty scores
    ranked = pd.read_csv(from_zoo)
    assert ranked["source"].iloc[-1] == "MoteStrain" and ranked[["logme", "leep"]].iloc[-1].isna().all()
    assert ranked["logme_rank"].iloc[:2].tolist() == [1, 2] and ranked["logme"].iloc[:2].notna().all()

    # recommend from the workflow's zoo folder, fine-tuning the nearest with 1 epoch
    tuned = tmp_path / "tuned.csv"
    result = transfer_tsc(
        "recommend", "--dataset", str(ucr_root / HELD_OUT), "--zoo", str(workdir / "results/zoo"),
        "--top", "1", "--finetune", "--epochs", "1", "--out", str(tuned),
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
    folder = _copy(workdir / "results/zoo", tmp_path)
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
    whole = (workdir / "results/zoo.tar.gz").read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    result = transfer_tsc("verify-zoo", str(truncated))
    assert result.returncode == 1
    assert f"{truncated}: not a readable zoo archive (corrupt or truncated?)" in result.stderr

    not_a_zoo = tmp_path / "other.tar.gz"
    with tarfile.open(not_a_zoo, "w:gz") as tar:
        tar.add(workdir / "results/pretrain", arcname="pretrain")
    result = transfer_tsc("verify-zoo", str(not_a_zoo))
    assert result.returncode == 1 and "no manifest.json in the archive" in result.stderr

    result = transfer_tsc("verify-zoo", str(tmp_path / "absent"))
    assert result.returncode == 1 and "model zoo not found" in result.stderr

    with pytest.raises(InputError, match="nothing to export"):
        zoo.export_zoo([], tmp_path / "empty")
