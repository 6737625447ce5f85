"""`datasets: ucr2015` (the paper's 85 datasets, 2015 and 2018 names), `datasets_missing` and a
list file of names: against INVENTORY.tsv, the shared 2018 subset and a small 2015 archive."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import job_counts, run_snakemake

from transfer_tsc import data, settings
from transfer_tsc.errors import InputError

# three small datasets renamed in 2018 and one that kept its name
SMALL = {
    "Gun_Point": "GunPoint",
    "Lighting2": "Lightning2",
    "50words": "FiftyWords",
    "Coffee": "Coffee",
}


def inventory_2015(root):
    """2015 name -> 2018 name of the inventory's rows that have a 2015 name."""
    with open(root / "INVENTORY.tsv") as f:
        return {
            r["name_2015"]: r["name"] for r in csv.DictReader(f, delimiter="\t") if r["name_2015"]
        }


def test_the_name_table_matches_the_inventory(ucr_root):
    table = data.ucr2015_names()
    assert len(table) == 85 and len(set(table.values())) == 85
    with open(data.Path(__file__).parents[1] / "benchmarks/data/ucr2015_sizes.tsv") as f:
        assert list(table) == [r["name_2015"] for r in csv.DictReader(f, delimiter="\t")]
    rows = inventory_2015(ucr_root)
    assert len(rows) == 47
    for old, new in rows.items():
        assert table[old] == new, old


def test_every_2018_name_is_a_dataset_of_the_2018_archive():
    """The inventory covers 47 of the 85; the published results of the 128 datasets of 2018
    (dl-4-tsc's results-ucr-128.csv, shipped as data) name them all."""
    path = (
        data.Path(__file__).parents[1] / "src/transfer_tsc/published/dl-4-tsc_results-ucr-128.csv"
    )
    with open(path) as f:
        archive_2018 = {row["dataset_name"] for row in csv.DictReader(f)}
    assert len(archive_2018) == 128
    missing = sorted(set(data.ucr2015_names().values()) - archive_2018)
    assert missing == []


def test_ucr2015_on_the_2018_subset_skips_or_names_the_missing(ucr_root):
    known = data.list_datasets(ucr_root)
    expected = sorted(inventory_2015(ucr_root).values())
    selection = data.dataset_selection(known, "ucr2015", ucr_root, "skip")
    assert selection.names == expected
    missing = sorted(set(data.ucr2015_names().values()) - set(expected))
    assert len(missing) == 38 and sorted(selection.skipped) == missing
    assert "38 of the 85 datasets of ucr2015" in selection.warning
    with pytest.raises(InputError) as error:
        data.dataset_selection(known, "ucr2015", ucr_root).names
    message = str(error.value)
    assert message.startswith("config key datasets: ")
    assert "38 of the 85 datasets of ucr2015" in message and "skip runs the 47 found" in message
    assert all(name in message for name in missing)
    assert "SyntheticControl (2015: synthetic_control)" in message


def write_archives(ucr_root, tmp_path):
    """SMALL in the 2015 layout (2015 folder names, comma-separated, no suffix) and its
    2018-layout twin (copies of the shared files)."""
    old, new = tmp_path / "ucr2015", tmp_path / "ucr2018"
    for name_2015, name in SMALL.items():
        for root, folder in ((old, name_2015), (new, name)):
            (root / folder).mkdir(parents=True)
        for split in data.SPLITS:
            text = (ucr_root / name / f"{name}_{split}.tsv").read_text()
            (new / name / f"{name}_{split}.tsv").write_text(text)
            comma = "\n".join(line.replace("\t", ",") for line in text.splitlines())
            (old / name_2015 / f"{name_2015}_{split}").write_text(comma + "\n")
    return old, new


def test_a_2015_archive_gives_the_same_datasets_as_its_2018_twin(ucr_root, tmp_path):
    old, new = write_archives(ucr_root, tmp_path)
    selections = {}
    for root in (old, new):
        known = data.list_datasets(root)
        with pytest.raises(InputError, match="81 of the 85 datasets of ucr2015"):
            data.dataset_selection(known, "ucr2015", root).names
        selections[root] = data.dataset_selection(known, "ucr2015", root, "skip").names
    assert selections[old] == selections[new] == sorted(SMALL.values())
    # the 2015 folder is read under the 2018 name
    for name in SMALL.values():
        a, b = data.load_dataset(old, name), data.load_dataset(new, name)
        assert a.name == b.name == name
        np.testing.assert_array_equal(a.x_train, b.x_train)
        np.testing.assert_array_equal(a.y_test, b.y_test)
    assert data.split_file(old, "GunPoint", "TRAIN").path == old / "Gun_Point" / "Gun_Point_TRAIN"
    # a listed name is kept where its folder is, else found under the other name of the two
    assert data.dataset_selection(
        data.list_datasets(old), ["GunPoint", "Lighting2"], old
    ).names == [
        "GunPoint",
        "Lighting2",
    ]
    assert data.dataset_selection(
        data.list_datasets(new), ["GunPoint", "Lighting2"], new
    ).names == [
        "GunPoint",
        "Lightning2",
    ]


def test_a_list_file_of_names(ucr_root, tmp_path):
    known = data.list_datasets(ucr_root)
    listing = tmp_path / "datasets.txt"
    listing.write_text("# the small ones\nCoffee\n\n  GunPoint   # 2018 name\nLighting2\n")
    assert data.dataset_selection(known, str(listing), ucr_root).names == [
        "Coffee",
        "GunPoint",
        "Lightning2",
    ]

    listing.write_text("Coffee\nCofee\nNoSuchData\n")
    with pytest.raises(InputError) as error:
        data.dataset_selection(known, str(listing), ucr_root).names
    message = str(error.value)
    assert (
        "config key datasets: Cofee (line 2; did you mean Coffee?), NoSuchData (line 3)" in message
    )
    assert f"2 of the 3 datasets listed in {listing}" in message
    skipped = data.dataset_selection(known, str(listing), ucr_root, "skip")
    assert skipped.names == ["Coffee"] and skipped.skipped == ("Cofee", "NoSuchData")

    bad_lines = {
        "Coffee\nGun Point\n": "line 2: 'Gun Point' is not a dataset name",
        "Coffee\nBeef\nCoffee\n": "line 3: Coffee is listed twice (also line 1)",
    }
    for text, expected in bad_lines.items():
        listing.write_text(text)
        with pytest.raises(InputError) as error:
            data.dataset_selection(known, str(listing), ucr_root).names
        assert f"config key datasets: {listing}, {expected}" in str(error.value)
    listing.write_text("# nothing\n\n")
    with pytest.raises(InputError, match="lists no dataset names"):
        data.dataset_selection(known, str(listing), ucr_root).names
    absent = tmp_path / "absent.txt"
    with pytest.raises(InputError) as error:
        data.dataset_selection(known, str(absent), ucr_root).names
    assert f'{absent} is not "all", "ucr2015" or a readable file of dataset names' in str(
        error.value
    )


def test_the_config_keys_are_validated():
    assert settings.validate({})["datasets_missing"] == "error"
    assert (
        settings.validate({"datasets": "ucr2015", "datasets_missing": "skip"})["datasets"]
        == "ucr2015"
    )
    with pytest.raises(InputError, match="config key datasets_missing"):
        settings.validate({"datasets_missing": "ignore"})


@pytest.mark.workflow
def test_a_dry_run_of_ucr2015_on_the_subset_plans_its_47(tmp_path, ucr_root):
    config = {"ucr_root": str(ucr_root), "datasets": "ucr2015", "datasets_missing": "skip"}
    dry = run_snakemake(tmp_path, config, "results/fcn/scratch_accuracy.csv", "-n")
    assert job_counts(dry.stdout) == {"pretrain": 47, "scratch_accuracy": 1}
    for name in inventory_2015(ucr_root).values():
        assert f"results/fcn/pretrain/{name}/metrics.csv" in dry.stdout, name
    assert "Warning: config key datasets: 38 of the 85 datasets of ucr2015" in dry.stderr
    refused = run_snakemake(
        tmp_path,
        {**config, "datasets_missing": "error"},
        "results/fcn/scratch_accuracy.csv",
        "-n",
        check=False,
    )
    assert refused.returncode != 0
    assert "Error: config key datasets: " in refused.stdout + refused.stderr


@pytest.mark.workflow
def test_paper_yaml_is_the_paper_setup_and_plans_the_study(tmp_path, ucr_root):
    """paper.yaml over config.yaml: ucr2015, the released batch rule, 2000 epochs, unconstrained
    DTW, 10 DBA iterations, the 2015 names; on the subset (skip the 38 missing) its dry run plans
    the 47 datasets' pre-training and their 47 x 46 fine-tunes."""
    import yaml
    from conftest import REPO

    paper = yaml.safe_load((REPO / "paper.yaml").read_text())
    merged = settings.validate({**yaml.safe_load((REPO / "config.yaml").read_text()), **paper})
    assert merged["datasets"] == "ucr2015"
    assert merged["training"]["batch_size_cap_tenth"] is True
    assert merged["training"]["batch_size"] == 16
    assert merged["pretrain"]["epochs"] == merged["finetune"]["epochs"] == 2000
    assert merged["dtw"] == {"window": None, "dba_iterations": 10}
    assert merged["analysis"]["names"] == 2015
    assert merged["finetune"]["sources"] == "all"
    config = {**paper, "ucr_root": str(ucr_root), "datasets_missing": "skip"}
    dry = run_snakemake(tmp_path, config, "results/fcn/transfer_accuracy.csv", "-n")
    counts = job_counts(dry.stdout)
    assert counts["pretrain"] == 47 and counts["finetune"] == 47 * 46
    recipe = settings.recipe(merged, "finetune")
    sizes = {"DiatomSizeReduction": 16, "MoteStrain": 20, "CBF": 30, "FiftyWords": 450}
    assert {n: recipe.batch_size_for(k) for n, k in sizes.items()} == {
        "DiatomSizeReduction": 1,
        "MoteStrain": 2,
        "CBF": 3,
        "FiftyWords": 16,
    }
