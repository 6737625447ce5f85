"""The ``transfer-tsc`` command: recommend (and fine-tune) sources for a new dataset, export
and check a model zoo.

::

    transfer-tsc recommend --dataset PATH/TO/<Name> (--study results | --zoo ZOO) [--top 5]
                           [--network fcn|resnet|inception]
                           [--score dtw|leep|nce|logme|hscore] [--no-scores]
                           [--finetune [--epochs N]] [--out recommendations.csv]
    transfer-tsc export-zoo --study results --out ZOO[.tar.gz] [--network fcn|resnet|inception]
                            [--config config.yaml]
    transfer-tsc verify-zoo ZOO

Bad input ends with one line ``Error: ...`` naming the file or option, and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from transfer_tsc.console import package_log_to, stamped_log
from transfer_tsc.errors import InputError, PipelineError

if TYPE_CHECKING:
    from transfer_tsc.data import Dataset
    from transfer_tsc.training.recipe import Recipe

# the command's log lines: time-stamped, on stderr
_log = stamped_log()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _read_config(path: str | None) -> dict | None:
    """A study config file, validated (defaults filled), or None."""
    if path is None:
        return None
    import yaml

    from transfer_tsc import settings

    try:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise InputError(f"{path}: config file not found") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(loaded, dict):
        raise InputError(f"{path}: not a config (a mapping of keys) ")
    try:
        return settings.validate(loaded)
    except InputError as error:
        raise InputError(f"{path}: {error}") from None


def finetune_recipe(
    study_config: dict | None, epochs: int | None, seed: int | None, network: str
) -> Recipe:
    """The fine-tuning recipe of ``network``: the study's (from a zoo's manifest) or the paper's
    defaults, with ``epochs`` / ``seed`` (``--epochs`` / ``--seed``) on top when given."""
    from transfer_tsc import settings

    base = settings.validate({})
    if study_config:
        base["training"].update(study_config.get("training", {}))
        base["finetune"]["epochs"] = study_config.get("finetune", {}).get(
            "epochs", base["finetune"]["epochs"]
        )
        base["seed"] = study_config.get("seed", base["seed"])
        base["network_settings"] = study_config.get("network_settings", {})
    own = base.get("network_settings", {}).get(network, {})
    if epochs is not None:
        base["finetune"]["epochs"] = epochs
        own.get("finetune", {}).pop("epochs", None)
    if seed is not None:
        base["seed"] = seed
    return settings.recipe(settings.validate(base), "finetune", network)


def _load_user_dataset(path: str, data_options: dict):
    from transfer_tsc.data import load_dataset

    folder = Path(path)
    if not folder.is_dir():
        raise InputError(
            f"{folder}: dataset folder not found (a UCR-layout folder "
            "<Name>/<Name>_TRAIN.tsv and _TEST.tsv, or the 2015 layout)"
        )
    try:
        return load_dataset(folder.parent, folder.name, **data_options)
    except InputError as error:
        if "data.fill_missing" in str(error):
            raise InputError(f"{error}; here: --fill-missing") from None
        raise


def _check_recommend(args: argparse.Namespace, command_line: argparse.ArgumentParser) -> None:
    """Option combinations argparse cannot express (a usage error, exit status 2)."""
    if args.no_scores and args.score != "dtw":
        command_line.error(
            f"argument --no-scores: not allowed with --score {args.score} (it ranks by the scores)"
        )


def cmd_recommend(args: argparse.Namespace) -> None:
    from transfer_tsc import recommend as rec
    from transfer_tsc import zoo
    from transfer_tsc.io import write_csv

    with zoo.references_from(study=args.study, zoo=args.zoo, network=args.network) as (
        references,
        study_config,
        network,
    ):
        name = Path(args.dataset).name
        usable = rec.rankable(references, name)
        with_model = [r.name for r in usable if r.model is not None]
        if args.score != "dtw" and not with_model:
            where = (
                f"study has none yet ({network}/pretrain/<Name>/model.h5)"
                if args.study
                else "zoo has none"
            )
            raise InputError(
                f"--score {args.score} needs the sources' pre-trained models and the {where}; "
                "--score dtw ranks by the prototypes alone"
            )

        def load(data_options: dict) -> Dataset:
            if args.fill_missing:
                data_options["fill_missing"] = True
            if args.znormalise is not None:
                data_options["znormalise"] = {"true": True, "false": False}.get(
                    args.znormalise, args.znormalise
                )
            return _load_user_dataset(args.dataset, data_options)

        recipe = (
            finetune_recipe(study_config, args.epochs, args.seed, network)
            if args.finetune
            else None
        )
        _, ranking, table = rec.recommend_for(
            name,
            load,
            references,
            study_config,
            args.score,
            args.top,
            scores=not args.no_scores,
            recipe=recipe,
            log=_log,
            network_name=network,
        )
    print(rec.format_table(table))
    print(rec.picks(ranking, args.score))
    if args.out:
        write_csv(table, args.out)
        _log(f"{len(table)} rows -> {args.out}")


def cmd_export_zoo(args: argparse.Namespace) -> None:
    from transfer_tsc import settings, zoo
    from transfer_tsc.data import load_dataset
    from transfer_tsc.zoo import describer as zoo_describer

    config = _read_config(args.config)
    references = zoo.study_references(args.study, network=args.network)
    root = settings.ucr_root(config) if config else None
    describe = zoo_describer(
        (lambda name: load_dataset(root, name, **config["data"])) if root is not None else None,
        references,
        unreadable=lambda name, error: _log(
            f"{name}: data not readable under {root} ({error}); described from its prototypes"
        ),
    )
    manifest = zoo.export_zoo(references, args.out, config, describe, network=args.network)
    with_model = sum(1 for e in manifest["datasets"].values() if e["model"])
    with_protos = sum(1 for e in manifest["datasets"].values() if e["prototypes"])
    print(
        f"{args.out}: {len(manifest['datasets'])} datasets ({with_model} pre-trained models, "
        f"{with_protos} prototype files), {len(manifest['files'])} files checksummed"
    )


def cmd_verify_zoo(args: argparse.Namespace) -> None:
    from transfer_tsc import zoo

    with zoo.open_zoo(args.zoo, load_models=True) as opened:
        models = sum(1 for entry in opened.manifest["datasets"].values() if entry.get("model"))
        print(
            f"{args.zoo}: {len(opened.manifest['files'])} files match their sha256, "
            f"{models} models load ({len(opened.manifest['datasets'])} datasets)"
        )


def parser() -> argparse.ArgumentParser:
    from transfer_tsc import networks, settings
    from transfer_tsc.transferability import SCORES  # numpy only: --help loads no TensorFlow

    defaults = settings.validate({})  # the schema's defaults, which the study's config overrides
    main = argparse.ArgumentParser(
        prog="transfer-tsc",
        description="Transfer learning for time series classification (Ismail Fawaz et al. 2018): "
        "pick and fine-tune a pre-trained source for your own dataset.",
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rec = commands.add_parser(
        "recommend",
        help="rank a study's (or zoo's) datasets by DTW distance (or a transferability score) to "
        "your dataset",
        description="Compute your dataset's class prototypes with the study's settings, rank the "
        "study's datasets by the paper's DTW distance (nearest first) or by a transferability "
        "score of their pre-trained models (LEEP, NCE, LogME, H-score; highest first), print the "
        "top k with every method's value and rank, say which source each method picks, and "
        "optionally fine-tune the top k on your train set next to training from scratch.",
    )
    rec.add_argument(
        "--dataset",
        required=True,
        metavar="PATH",
        help="your dataset's folder, UCR layout: <Name>/<Name>_TRAIN.tsv and _TEST.tsv (or 2015 "
        "layout)",
    )
    source = rec.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--study", metavar="DIR", help="a study's results folder (finished or partial)"
    )
    source.add_argument(
        "--zoo", metavar="ZOO", help="a model zoo folder or .tar.gz (transfer-tsc export-zoo)"
    )
    rec.add_argument(
        "--network",
        choices=list(networks.NETWORKS),
        default=None,
        help="the network whose pre-trained models to use: a study's results/<network>/ "
        "(default fcn), or the zoo's (the default; another is refused)",
    )
    top = defaults["recommend"]["top"]
    rec.add_argument(
        "--top",
        type=_positive,
        default=top,
        metavar="K",
        help=f"how many sources to show and fine-tune (0: all; default {top})",
    )
    rec.add_argument(
        "--score",
        choices=["dtw", *SCORES],
        default=defaults["recommend"]["score"],
        help="rank by the paper's DTW distance between class prototypes (dtw, the "
        "default, nearest first) or by a transferability score of one forward pass of "
        "your train set through each source's pre-trained model (highest first; "
        "sources without a model come last). Every score and its rank is shown "
        "whenever the sources have models",
    )
    rec.add_argument(
        "--no-scores",
        action="store_true",
        help="with --score dtw: skip the transferability scores (no model is loaded)",
    )
    rec.add_argument(
        "--finetune",
        action="store_true",
        help="fine-tune the top K sources (of --score) on your train set and train from "
        "scratch, report test accuracy",
    )
    rec.add_argument(
        "--epochs",
        type=_positive,
        default=None,
        metavar="N",
        help="training epochs for --finetune (default: the study's, else "
        f"{defaults['finetune']['epochs']})",
    )
    rec.add_argument(
        "--seed",
        type=_positive,
        default=None,
        help=f"training seed (default: the study's, else {defaults['seed']})",
    )
    rec.add_argument(
        "--fill-missing", action="store_true", help="interpolate missing values inside series"
    )
    rec.add_argument(
        "--znormalise",
        choices=["auto", "true", "false"],
        default=None,
        help="z-normalise every series (true), none (false), or only a dataset whose "
        "series are not z-normalised (auto); default: as the study did",
    )
    rec.add_argument("--out", metavar="CSV", help="also write the table as CSV")
    rec.set_defaults(run=cmd_recommend, check=_check_recommend)

    exp = commands.add_parser(
        "export-zoo",
        help="export a study's pre-trained models and prototypes as a checksummed zoo",
        description="Copy every finished pre-trained model, its metrics and prototype file of a "
        "study into one folder (or .tar.gz) with manifest.json: datasets, classes, train size, "
        "series length, the config, software versions and the sha256 of every file.",
    )
    exp.add_argument("--study", required=True, metavar="DIR", help="the study's results folder")
    exp.add_argument(
        "--network",
        choices=list(networks.NETWORKS),
        default=networks.PAPER_NETWORK,
        help="the network whose models to export (results/<network>/pretrain; default fcn)",
    )
    exp.add_argument(
        "--out", required=True, metavar="ZOO", help="zoo folder, or an archive ending in .tar.gz"
    )
    exp.add_argument(
        "--config",
        metavar="YAML",
        help="the study's config file: recorded in the manifest, and its ucr_root describes the "
        "datasets",
    )
    exp.set_defaults(run=cmd_export_zoo)

    ver = commands.add_parser(
        "verify-zoo", help="check every file of a zoo against its manifest and load every model"
    )
    ver.add_argument("zoo", metavar="ZOO", help="zoo folder or .tar.gz")
    ver.set_defaults(run=cmd_verify_zoo)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``transfer-tsc`` console script."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command_line = parser()
    args = command_line.parse_args(argv)
    if getattr(args, "check", None):
        args.check(args, command_line)
    try:
        with package_log_to(_log):  # the package's own log lines (e.g. znormalise auto)
            args.run(args)
    except PipelineError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
