"""The GPU plan (finetune.group_size auto): how many fine-tunings of a target fit one GPU
(transfer_tsc.training.gpu_plan, docs/resources.md "GPU plan"), and the jobs the workflow plans
with it when finetune_batch is sent to a GPU (transfer_tsc.workflow.plan's decisions on the real
UCR subset, and two runs of Snakemake for the wiring: a profile's resources, a pair alone)."""

from __future__ import annotations

import csv
import re

import pytest
import yaml
from conftest import REPO, SHORT_TRAINING, UCR_ROOT, job_counts, run_snakemake

from transfer_tsc import data, demo, settings, study
from transfer_tsc.errors import InputError
from transfer_tsc.training import gpu_plan
from transfer_tsc.workflow import plan

GB16 = 16000  # MiB: the default GPU (config resources.gpu.memory_mb)
LONGEST_UCR = 2844  # Rock, the longest series of the UCR 2018 archive
SOURCES = 84  # the paper: 85 datasets, 84 sources per target
GPU = ("--set-resources", "finetune_batch:gres=gpu:1")  # what the SLURM profile sets


def job_mb(group_size: int, length: int, batch_size: int) -> float:
    """GPU memory of a job training ``group_size`` models together (the module's formula:
    RESERVE_MB + S x model_mb)."""
    return gpu_plan.RESERVE_MB + group_size * gpu_plan.model_mb(length, batch_size)


def test_hand_computed_case():
    # FCN: 265,728 parameters before the head, 7,740 for a 60-class head
    assert gpu_plan.parameters(2) == 265_986 and gpu_plan.parameters() == 273_468
    # 5 copies x 273,468 x 4 bytes = 5,469,360 bytes
    assert gpu_plan.fixed_mb() == pytest.approx(5_469_360 / 2**20)
    # HandOutlines: 16 x 2709 x 3 x 512 x 4 bytes = 266,305,536 bytes kept for the backward pass
    assert gpu_plan.activations_mb(2709, 16) == pytest.approx(266_305_536 / 2**20)
    per_model = (5_469_360 + 2 * 266_305_536) / 2**20  # 513.16 MiB
    assert gpu_plan.model_mb(2709, 16) == pytest.approx(per_model)
    # 16000 x 0.75 - 1500 = 10,500 MiB usable: 20 models (20.46)
    assert gpu_plan.group_size_for(2709, 16, GB16, SOURCES) == 20 == int(10_500 // per_model)
    assert job_mb(20, 2709, 16) == pytest.approx(1500 + 20 * per_model)


def _ucr_lengths() -> list[int]:
    inventory = UCR_ROOT / "INVENTORY.tsv"
    if not inventory.is_file():
        return []
    with inventory.open() as handle:
        return [int(row["length_max"]) for row in csv.DictReader(handle, delimiter="\t")]


@pytest.mark.parametrize("sources", [SOURCES, 127])  # the paper's archive, the 2018 archive
def test_no_target_runs_out_of_memory_on_a_16_gb_gpu(sources):
    lengths = sorted(set(range(1, LONGEST_UCR + 1)) | set(_ucr_lengths()))
    assert max(lengths) == LONGEST_UCR
    for length in lengths:
        size = gpu_plan.group_size_for(length, 16, GB16, sources)
        total = job_mb(size, length, 16)
        assert 1 <= size <= sources
        assert total <= GB16 * gpu_plan.MEMORY_FRACTION < GB16, (length, size, total)
        # and one more model would not have fitted, unless every source already is in
        assert size == sources or job_mb(size + 1, length, 16) > GB16 * 0.75


def test_the_group_shrinks_as_the_series_grow():
    sizes = [gpu_plan.group_size_for(n, 16, GB16, SOURCES) for n in range(1, LONGEST_UCR + 1)]
    assert all(a >= b for a, b in zip(sizes, sizes[1:]))
    at = dict(zip(range(1, LONGEST_UCR + 1), sizes))
    assert at[150] == SOURCES > at[720] > at[1092] > at[2709] > 1
    # a larger GPU holds at least as many; a smaller batch too
    for length in (24, 720, 2709):
        assert gpu_plan.group_size_for(length, 16, 40000, SOURCES) >= at[length]
        assert gpu_plan.group_size_for(length, 8, GB16, SOURCES) >= at[length]


def test_the_group_is_clamped_to_one_and_to_the_sources():
    assert gpu_plan.group_size_for(24, 16, GB16, 3) == 3
    assert gpu_plan.group_size_for(2709, 16, 2000, SOURCES) == 1  # too small a GPU: one model
    with pytest.raises(ValueError):
        gpu_plan.group_size_for(0, 16, GB16, SOURCES)


def test_resnet_and_inception_take_more_memory_per_model_than_the_fcn():
    """Per time step the ResNet keeps 3712 channels and Inception 4129 (its shortcuts,
    bottlenecks, poolings and concatenations; networks.NetworkSpec) against the FCN's 1536, and
    both have more parameters: at every length a model takes more memory, so fewer fit."""
    from transfer_tsc.networks import FCN_SPEC, INCEPTION_SPEC, RESNET_SPEC

    fcn_channels = 3 * (128 + 256 + 128)
    for spec, channels in ((RESNET_SPEC, 3712), (INCEPTION_SPEC, 4129)):
        assert spec.params(gpu_plan.HEAD_CLASSES) > FCN_SPEC.params(gpu_plan.HEAD_CLASSES)
        assert gpu_plan.fixed_mb(spec) > gpu_plan.fixed_mb(FCN_SPEC)
        for length in (1, 24, 720, 2709, LONGEST_UCR):
            assert gpu_plan.activations_mb(length, 16, spec) == pytest.approx(
                gpu_plan.activations_mb(length, 16, FCN_SPEC) * channels / fcn_channels
            )
            assert gpu_plan.model_mb(length, 16, spec) > gpu_plan.model_mb(length, 16, FCN_SPEC)
            assert gpu_plan.group_size_for(length, 16, GB16, SOURCES, spec) <= (
                gpu_plan.group_size_for(length, 16, GB16, SOURCES, FCN_SPEC)
            )
        # HandOutlines: 16 x 2709 x channels x 4 bytes, twice, and 5 copies of the parameters
        per_model = (5 * spec.params(60) * 4 + 2 * 16 * 2709 * channels * 4) / 2**20
        assert gpu_plan.model_mb(2709, 16, spec) == pytest.approx(per_model)
        assert gpu_plan.group_size_for(2709, 16, GB16, SOURCES, spec) == int(10_500 // per_model)
    assert gpu_plan.group_size_for(2709, 16, GB16, SOURCES, INCEPTION_SPEC) < 20  # the FCN's


def test_the_network_constants_are_the_fcns():
    from transfer_tsc.networks import FCN_SPEC, fcn

    assert not hasattr(gpu_plan, "CONV_BLOCKS")  # the plan reads the spec, not a copy
    assert gpu_plan.parameters(60) == FCN_SPEC.params(60)
    assert gpu_plan.parameters(60) == fcn.build_fcn(60, seed=0).count_params()


def test_the_docs_table_holds_the_functions_numbers():
    text = (REPO / "docs/resources.md").read_text()
    section = text.split("## GPU plan", 1)[1]
    rows = re.findall(r"^\| (\d+) \| \w+ \| ([\d.]+) \| (.+) \|$", section, re.M)
    assert [int(r[0]) for r in rows] == [24, 150, 720, 1092, 2709]
    for length, per_model, groups in rows:
        length = int(length)
        assert float(per_model) == round(gpu_plan.model_mb(length, 16), 1)
        cells = [c.strip() for c in groups.split("|")]
        for cell, memory in zip(cells, (16000, 40000, 80000)):
            fits = int(gpu_plan.usable_mb(memory) // gpu_plan.model_mb(length, 16))
            size = gpu_plan.group_size_for(length, 16, memory, SOURCES)
            assert cell == (str(size) if size == fits else f"{size} ({fits})"), (length, memory)


@pytest.mark.parametrize(
    "resources, expected",
    [
        ({"gres": "gpu:1"}, True),
        ({"gres": "gpu:a100:2", "slurm_partition": "gpu"}, True),
        ({"gpu": 1}, True),
        ({"gpu_mem_mb": 40000}, True),
        ({"gres": "", "gpu": 0}, False),
        ({"slurm_partition": "gpu", "mem_mb": 4000}, False),
        ({}, False),
    ],
)
def test_a_rule_is_sent_to_a_gpu_by_its_gpu_request(resources, expected):
    assert gpu_plan.sent_to_gpu(resources) is expected


def test_batches_of_a_per_target_size():
    sources = [f"S{i:02d}" for i in range(7)]
    for size in (1, 3, 7, 10):
        batches = study.batches(sources, size)
        assert [s for group in batches.values() for s in group] == sources
        assert all(len(group) <= size for group in batches.values())
        for source in sources:
            assert source in batches[study.batch_of(source, sources, size)]
    # a batch of one source is named after it: the id a pair asked for alone uses
    assert study.batch_id(["S03"]) == "S03"


def test_group_size_setting():
    base = {"finetune": {}}
    assert settings.validate(base)["finetune"]["group_size"] == "auto"
    assert settings.group_size({"finetune": {"group_size": "4"}}) == 4  # --config gives text
    assert settings.group_size(settings.validate({"finetune": {"group_size": 2}})) == 2
    assert settings.validate({})["resources"]["gpu"]["memory_mb"] == GB16
    for bad in (0, "none", "0"):
        with pytest.raises(InputError, match="finetune.group_size"):
            settings.validate({"finetune": {"group_size": bad}})


def test_series_length_from_the_first_row(tmp_path):
    demo.write_demo_dataset(tmp_path, "SyntheticControl")
    for split in data.SPLITS:
        file = data.split_file(tmp_path, "SyntheticControl", split)
        assert data.row_width(file) == demo.series_length("SyntheticControl") == 60
    folder = tmp_path / "Short"
    folder.mkdir()
    (folder / "Short_TRAIN").write_text("\n1,0.5,0.25,NaN\n2,1,2,3\n")  # 2015 layout, padded
    assert data.row_width(data.split_file(tmp_path, "Short", "TRAIN")) == 3


# -- the workflow ---------------------------------------------------------------------------

DATASETS = ["Chinatown", "Coffee", "Haptics"]  # lengths 24, 286, 1092


@pytest.fixture
def gpu_config(ucr_root):
    # a GPU on which Haptics' fine-tunings go one at a time and the others' two together
    memory = next(m for m in range(2000, 4000, 10) if gpu_plan.group_size_for(286, 16, m, 2) == 2)
    assert gpu_plan.group_size_for(1092, 16, memory, 2) == 1
    return {
        "ucr_root": str(ucr_root),
        "datasets": DATASETS,
        **SHORT_TRAINING,
        "resources": {"gpu": {"memory_mb": memory}},
    }


def _length(name: str) -> int:
    """A dataset's series length, as rules/helpers/finetune.smk reads it (first rows)."""
    return max(data.row_width(data.split_file(UCR_ROOT, name, s)) for s in data.SPLITS)


def planned_jobs(config: dict, resources: dict) -> dict[str, set[tuple[str, str]]]:
    """The fine-tuning jobs of the study of ``config`` when ``resources`` are set for
    finetune_batch, decided as rules/helpers/finetune.smk decides them (transfer_tsc.workflow.
    plan): rule -> its jobs' wildcards (finetune and finetune_pair: (source, target);
    finetune_batch: (target, batch))."""
    validated = settings.validate(config)
    finetune = plan.finetune_plan(validated, resources)
    budget = plan.budget(validated)
    jobs: dict[str, set[tuple[str, str]]] = {}
    for target in DATASETS:
        sources = plan.target_sources(target, DATASETS, budget, validated["seed"])
        if not finetune.batched:
            jobs.setdefault("finetune", set()).update((s, target) for s in sources)
            continue
        length = _length(target) if finetune.gpu_plan else None
        size = plan.group_size(finetune, len(sources), length, validated["training"]["batch_size"])
        batches = plan.source_batches(sources, size)
        jobs.setdefault("finetune_batch", set()).update((target, b) for b in batches)
        for source in sources:  # each pair's files linked from the batch that holds its source
            batch = plan.pair_batch(source, target, sources, size).rsplit("/", 1)[1]
            assert source in batches[batch], (source, target, batch)
            jobs.setdefault("finetune_pair", set()).add((source, target))
    return jobs


def _counts(jobs: dict[str, set]) -> dict[str, int]:
    return {rule: len(wildcards) for rule, wildcards in jobs.items()}


def test_cpu_runs_fine_tune_each_pair_alone(gpu_config):
    assert _counts(planned_jobs(gpu_config, {})) == {"finetune": 6}
    finetune = plan.finetune_plan(settings.validate(gpu_config), {})
    assert plan.gpu_plan_note(finetune, "tensorflow") is None  # no "GPU plan" note


def test_a_gpu_for_finetune_batch_turns_the_gpu_plan_on(gpu_config):
    jobs = planned_jobs(gpu_config, {"gres": "gpu:1"})  # what GPU (--set-resources) sets
    counts = _counts(jobs)
    # Chinatown and Coffee: one batch of both sources; Haptics: two batches of one
    assert counts["finetune_batch"] == 4 and counts["finetune_pair"] == 6, counts
    assert "finetune" not in counts
    assert jobs["finetune_batch"] == {
        ("Chinatown", study.batch_id(["Coffee", "Haptics"])),
        ("Coffee", study.batch_id(["Chinatown", "Haptics"])),
        ("Haptics", "Chinatown"),
        ("Haptics", "Coffee"),
    }
    finetune = plan.finetune_plan(settings.validate(gpu_config), {"gres": "gpu:1"})
    note = plan.gpu_plan_note(finetune, "tensorflow")
    assert f"fit {gpu_config['resources']['gpu']['memory_mb']} MB" in note
    # the resource gpu_mem_mb sets the GPU's memory: a large one takes Haptics' two together
    jobs = planned_jobs(gpu_config, {"gres": "gpu:1", "gpu_mem_mb": 80000})
    assert _counts(jobs)["finetune_batch"] == 3


def test_a_number_as_group_size_wins_over_the_plan(gpu_config):
    config = {**gpu_config, "finetune": {"epochs": 2, "group_size": 1}}
    assert _counts(planned_jobs(config, {"gres": "gpu:1"}))["finetune"] == 6


@pytest.mark.workflow
def test_the_plan_survives_a_config_of_the_users_own(tmp_path, gpu_config):
    # a profile's config or configfile is dropped when the command line names its own; its
    # set-resources are not
    profile = tmp_path / "profile"
    profile.mkdir()
    slurm = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert gpu_plan.sent_to_gpu(slurm["set-resources"]["finetune_batch"])
    (profile / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "set-resources": {"finetune_batch": slurm["set-resources"]["finetune_batch"]},
                "config": {"finetune": {"group_size": 1}},  # dropped: the user's --config wins
            }
        )
    )
    dry = run_snakemake(
        tmp_path,
        gpu_config,
        "results/fcn/transfer_accuracy.csv",
        "-n",
        "--profile",
        str(profile),
        "--config",
        "seed=0",
    )
    assert job_counts(dry.stdout)["finetune_batch"] == 4


@pytest.mark.workflow
def test_a_single_pair_is_fine_tuned_alone_under_the_gpu_plan(tmp_path, gpu_config):
    target = "results/fcn/finetune/Chinatown/Coffee/metrics.csv"
    dry = run_snakemake(tmp_path, gpu_config, target, "-n", *GPU)
    assert job_counts(dry.stdout) == {"pretrain": 1, "finetune_batch": 1, "finetune_pair": 1}
    assert "wildcards: network=fcn, target=Coffee, batch=Chinatown" in dry.stdout
    run_snakemake(tmp_path, gpu_config, target, *GPU)
    log = (tmp_path / "logs/fcn/finetune/Coffee/Chinatown.log").read_text()
    assert "[finetune Chinatown -> Coffee]" in log
    assert (tmp_path / target).is_file()
    assert not (tmp_path / "results/fcn/pretrain/Haptics").exists()
    # the study then fine-tunes Coffee's batch, and the pair is linked from it
    dry = run_snakemake(tmp_path, gpu_config, "results/fcn/transfer_accuracy.csv", "-n", *GPU)
    assert f"target=Coffee, batch={study.batch_id(['Chinatown', 'Haptics'])}" in dry.stdout
    assert job_counts(dry.stdout)["finetune_pair"] == 6  # Chinatown -> Coffee linked again
