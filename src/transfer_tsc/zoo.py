"""A model zoo: a study's pre-trained networks (of one network: the FCN, ResNet or Inception)
and class prototypes as one shareable folder or ``.tar.gz`` archive, with a manifest that makes
it checkable and self-describing.

The paper's pre-trained models were shared by a download link; a user who wants to transfer to
a new dataset needs the models *and* the similarity (section III-C: the source nearest by DTW
between class prototypes is usually a good one, section V-C). A zoo holds both::

    ZOO/manifest.json            what is in the zoo (below)
    ZOO/models/<Name>.h5         pre-trained model (results/<network>/pretrain/<Name>/model.h5)
    ZOO/metrics/<Name>.csv       its from-scratch test accuracy
    (results/<network>/pretrain/<Name>/metrics.csv)
    ZOO/prototypes/<Name>.h5     per-class DBA prototypes (results/prototypes/<Name>.h5)

``manifest.json`` lists per dataset its classes, train size and series length and which of the
three files it has (a partial study exports what is finished), the network of its models
(``network``; a zoo without one is of FCNs), the study's config, the software versions,
and the size and sha256 of every file. :func:`open_zoo` checks every file against the
manifest before anything is read: a missing, truncated or tampered file is refused by name.

A manifest's sha256 is computed at export, so it vouches for the copy, not for the study's file:
:func:`export_zoo` first checks every file it will pack (:func:`verify_study_files`): its sha256
against the one recorded when its job finished (``results/records``, ``study.recorded_outputs``)
and its content (each model loaded, each prototypes and metrics file read). A file that fails is
refused by name before anything is written. ``open_zoo(..., load_models=True)`` (verify-zoo) also
loads every model and reads every prototypes file of a zoo, so one packed from a damaged file by
an older version is refused too.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from transfer_tsc.data import Dataset
from transfer_tsc.errors import InputError
from transfer_tsc.io import sha256
from transfer_tsc.networks import PAPER_NETWORK

_LOG = logging.getLogger(__name__)

FORMAT = "transfer-tsc-zoo"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# A study of repeated runs (config runs above 1) ships run 1's model and metrics.
RUN1 = "run1/model.h5"
# kind -> (folder in the zoo, path in a study's results/ folder)
ARTEFACTS: dict[str, tuple[str, str]] = {
    "model": ("models/{name}.h5", "{network}/pretrain/{name}/model.h5"),
    "metrics": ("metrics/{name}.csv", "{network}/pretrain/{name}/metrics.csv"),
    "prototypes": ("prototypes/{name}.h5", "prototypes/{name}.h5"),
}


@dataclass(frozen=True)
class Reference:
    """One dataset a new dataset can be compared with and transferred from: its prototypes
    (for the ranking), its pre-trained model and from-scratch metrics (for fine-tuning); a
    partial study may lack some (None)."""

    name: str
    prototypes: Path | None
    model: Path | None
    metrics: Path | None
    info: Mapping[str, object] = field(default_factory=dict)


def describe(dataset) -> dict[str, object]:
    """A dataset's manifest entry: class labels, train / test sizes, series length."""
    return {
        "classes": list(dataset.classes),
        "n_classes": dataset.n_classes,
        "train_size": int(len(dataset.y_train)),
        "test_size": int(len(dataset.y_test)),
        "length": dataset.length,
        "variable_length": dataset.variable_length,
    }


def describe_prototypes(path: str | os.PathLike) -> dict[str, object]:
    """A manifest entry from a prototypes file when the data are not at hand: class labels,
    train size (the class sizes' sum) and the longest prototype's length (the series length
    of a fixed-length dataset)."""
    from transfer_tsc.similarity.prototypes import read_prototypes

    found = read_prototypes(path)
    return {
        "classes": list(found.classes),
        "n_classes": len(found.classes),
        "train_size": int(found.class_size.sum()),
        "length": max(len(p) for p in found.prototypes),
    }


def study_references(
    results: str | os.PathLike,
    datasets: Sequence[str] | None = None,
    network: str = PAPER_NETWORK,
) -> list[Reference]:
    """The finished artefacts of a (possibly partial) study's ``results/`` folder, the models
    of ``network``: every dataset with a pre-trained model or prototypes, or only ``datasets``
    when given."""
    root = Path(results)
    if not root.is_dir():
        raise InputError(f"{root}: study results folder not found")
    if datasets is None:
        found = {p.stem for p in (root / "prototypes").glob("*.h5")}
        found |= {p.parent.name for p in (root / network / "pretrain").glob("*/model.h5")}
        found |= {p.parent.parent.name for p in (root / network / "pretrain").glob(f"*/{RUN1}")}
        datasets = sorted(found)
    references = []
    for name in datasets:
        paths = {}
        for kind, (_, in_study) in ARTEFACTS.items():
            path = root / in_study.format(name=name, network=network)
            if kind != "prototypes" and not path.is_file():  # a study of repeated runs: run 1's
                path = path.parent / "run1" / path.name
            paths[kind] = path if path.is_file() else None
        if any(paths.values()):
            references.append(
                Reference(name, paths["prototypes"], paths["model"], paths["metrics"])
            )
    return references


# How a study file that fails its check has to be made again (the record case: a re-run finds
# the file damaged, recovery.mark_damaged_for_rerun, and makes it again).
REMAKE = "re-run the study: snakemake makes it again"


def _study_folder(source: Path, kind: str, name: str) -> Path | None:
    """The study results folder that holds ``source`` at its place for ``kind`` of dataset
    ``name`` (``ARTEFACTS``: e.g. ``<folder>/<network>/pretrain/<name>/model.h5``, any network);
    None elsewhere."""
    in_study = Path(ARTEFACTS[kind][1].format(name=name, network="{network}")).parts
    found = source.parts[-len(in_study) :]
    if len(found) != len(in_study) or any(
        part != expected for part, expected in zip(found, in_study) if expected != "{network}"
    ):
        return None
    return Path(*source.parts[: -len(in_study)])


def _record_naming(folder: Path, source: Path) -> Path | None:
    """The job record under ``folder/records`` that lists the study file ``source`` (named as
    its rule names it, ``results/...``): for the message of a file that differs from it."""
    in_study = source.parts[len(folder.parts) :]
    for record in sorted((folder / "records").glob("*/*.json")):
        try:
            outputs = json.loads(record.read_text())["outputs"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if any(Path(output).parts[1:] == in_study for output in outputs):
            return record
    return None


def _read_error(kind: str, path: Path, name: str) -> str | None:
    """Why the ``kind`` file ``path`` of dataset ``name`` does not read (models loaded with the
    package's loader, ``transfer.load_model``, which Keras must be imported for), or None."""
    try:
        if kind == "model":
            from transfer_tsc.training.transfer import load_model

            model = load_model(path, spec=None)  # any registered network
            del model
        elif kind == "prototypes":
            from transfer_tsc.similarity.prototypes import read_prototypes

            read_prototypes(path)
        else:
            from transfer_tsc.study import read_metrics

            read_metrics(path, dataset=name)
    except InputError as error:
        return str(error)
    except (OSError, ValueError, KeyError, TypeError) as error:  # h5py on a damaged dataset
        reason = " ".join(str(error).split())
        return f"{path}: not a readable {kind} file (corrupt or truncated?): {reason}"
    return None


def _check_contents(
    files: Sequence[tuple[str, Path, str, str]], refused: Callable[[str, str], str]
) -> None:
    """Load or read each ``(kind, path, dataset name, label)``: InputError ``refused(kind,
    message)``, the path renamed to the label, for the first that does not read. Prototypes and
    metrics first; Keras is imported (quietly) only when a model's turn comes, each model loaded
    once, Keras' state cleared after."""
    keras_imported = False
    try:
        for kind, path, name, label in sorted(files, key=lambda file: file[0] == "model"):
            if kind == "model" and not keras_imported:
                from transfer_tsc.training.backend import import_keras_quietly

                try:
                    import_keras_quietly()
                except ImportError as error:  # e.g. a conda env without Keras
                    raise InputError(
                        f"{label}: cannot be loaded to be checked: Keras is not importable here "
                        f"({error}); run where the training environment is (envs/training.yaml)"
                    ) from None
                keras_imported = True
            message = _read_error(kind, path, name)
            if message is not None:
                if message.startswith(f"{path}:"):
                    message = label + message[len(str(path)) :]
                raise InputError(refused(kind, message))
    finally:
        if keras_imported:
            import keras

            keras.backend.clear_session()


def verify_study_files(references: Sequence[Reference]) -> dict[Path, str]:
    """Check every file of ``references`` before it is exported: where its study has a record of
    the job that made it, its sha256 now against the recorded one; and, recorded or not, its
    content (each model loaded, each prototypes and metrics file read). Raise InputError naming
    the first file that fails; say once (package log) how many files had no record. Return each
    file's sha256 as checked."""
    from transfer_tsc.study import recorded_outputs

    records: dict[Path, dict[Path, str]] = {}
    checked: dict[Path, str] = {}
    files: list[tuple[str, Path, str, str]] = []
    unrecorded, unrecorded_in = 0, set()  # files without a record, their studies' record folders
    for ref in sorted(references, key=lambda r: r.name):
        for kind in ARTEFACTS:
            source = getattr(ref, kind)
            if source is None:
                continue
            source = Path(source)
            try:
                digest = sha256(source)
            except OSError as error:
                reason = error.strerror or error
                raise InputError(f"{source}: cannot read: {reason}; not exported") from None
            folder = _study_folder(source, kind, ref.name)
            if folder is not None and folder not in records:
                records[folder] = recorded_outputs(folder)
            recorded = records[folder].get(source) if folder is not None else None
            if recorded is None:
                unrecorded += 1
                unrecorded_in |= {str(folder / "records")} if folder is not None else set()
            elif digest != recorded:
                record = _record_naming(folder, source)
                raise InputError(
                    f"{source}: sha256 differs from the one recorded when its job finished"
                    + (f" ({record})" if record is not None else "")
                    + f": corrupt or altered since; not exported ({REMAKE})"
                )
            checked[source] = digest
            files.append((kind, source, ref.name, str(source)))
    if unrecorded:
        where = ", ".join(sorted(unrecorded_in)) + ": " if unrecorded_in else ""
        _LOG.info(
            f"{unrecorded} of {len(files)} files have no record of the job that made them ({where}"
            "a study from before records were kept): they are checked by loading them only, not "
            "against their sha256 when made"
        )

    def refused(kind: str, message: str) -> str:  # a metrics file's message says how to remake it
        return f"{message}; not exported" + (
            "" if kind == "metrics" else f" (delete it and {REMAKE})"
        )

    _check_contents(files, refused)
    return checked


def export_zoo(
    references: Sequence[Reference],
    out: str | os.PathLike,
    config: Mapping[str, object] | None = None,
    describe_dataset: Callable[[str], dict[str, object] | None] = lambda name: None,
    software: Mapping[str, str] | None = None,
    network: str = PAPER_NETWORK,
) -> dict:
    """Write ``references`` as a zoo folder ``out`` (or an archive when ``out`` ends in
    ``.tar.gz``), assembled under a temporary name and renamed into place whole.

    ``describe_dataset(name)`` gives a dataset's manifest entry (see :func:`describe`), or None
    when its data are not at hand; ``network`` is the models' network (the manifest's).
    Every file is checked first (:func:`verify_study_files`):
    a refused export writes nothing and leaves a zoo already at ``out`` as it was. Returns the
    manifest."""
    if not references:
        raise InputError("nothing to export: the study has no pre-trained models or prototypes yet")
    verified = verify_study_files(references)
    out = Path(out)
    archive = out.name.endswith(".tar.gz")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        folder = staging / (out.name[: -len(".tar.gz")] if archive else out.name)
        folder.mkdir()
        entries, files = {}, {}
        for ref in sorted(references, key=lambda r: r.name):
            entry: dict[str, object] = {"name": ref.name, **(describe_dataset(ref.name) or {})}
            for kind, (in_zoo, _) in ARTEFACTS.items():
                source = getattr(ref, kind)
                if source is None:
                    entry[kind] = None
                    continue
                relative = in_zoo.format(name=ref.name)
                (folder / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, folder / relative)
                copied = sha256(folder / relative)
                if copied != verified[Path(source)]:
                    raise InputError(
                        f"{source}: changed while it was exported (its copy's sha256 "
                        "is not the one checked); not exported: export again"
                    )
                entry[kind] = relative
                files[relative] = {"sha256": copied, "bytes": (folder / relative).stat().st_size}
            entries[ref.name] = entry
        if software is None:
            from transfer_tsc.report.analysis import software_versions

            software = software_versions()
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "paper": "Ismail Fawaz et al., Transfer learning for time series classification, "
            "IEEE BigData 2018",
            "network": network,
            "config": dict(config) if config is not None else None,
            "software": dict(software),
            "datasets": entries,
            "files": files,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        if archive:
            packed = staging / out.name
            with tarfile.open(packed, "w:gz") as tar:
                tar.add(folder, arcname=folder.name)
            result = packed
        else:
            result = folder
        if out.is_dir():
            shutil.rmtree(out)
        os.replace(result, out)
        return manifest
    finally:
        if staging.exists():
            shutil.rmtree(staging)


@dataclass
class Zoo:
    """An opened, verified zoo: ``references`` point into ``root`` (a temporary folder for an
    archive, removed by :meth:`close`)."""

    root: Path
    manifest: dict
    _tmp: tempfile.TemporaryDirectory | None = None

    @property
    def references(self) -> list[Reference]:
        refs = []
        for name, entry in sorted(self.manifest["datasets"].items()):
            paths = {
                kind: (self.root / entry[kind]) if entry.get(kind) else None for kind in ARTEFACTS
            }
            info = {k: v for k, v in entry.items() if k not in ARTEFACTS}
            refs.append(
                Reference(name, paths["prototypes"], paths["model"], paths["metrics"], info)
            )
        return refs

    @property
    def config(self) -> dict | None:
        return self.manifest.get("config")

    @property
    def network(self) -> str:
        """The network of the zoo's models (FCN for a zoo from before networks were named)."""
        return self.manifest.get("network") or PAPER_NETWORK

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Zoo:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _extract(archive: Path, into: Path) -> Path:
    """Unpack a zoo archive (regular files and folders only, nothing outside ``into``) and
    return the folder that holds its manifest."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                if not (member.isfile() or member.isdir()):
                    raise InputError(f"{archive}: {member.name} is not a regular file")
                if member.name.startswith(("/", "\\")) or ".." in Path(member.name).parts:
                    raise InputError(f"{archive}: {member.name} points outside the archive")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(into, members=members, filter="data")
            else:  # Python before 3.10.12: the checks above are the filter
                tar.extractall(into, members=members)
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        reason = " ".join(str(error).split())
        raise InputError(
            f"{archive}: not a readable zoo archive (corrupt or truncated?): {reason}"
        ) from None
    manifests = sorted(into.glob(f"*/{MANIFEST}")) + sorted(into.glob(MANIFEST))
    if not manifests:
        raise InputError(f"{archive}: no {MANIFEST} in the archive: not a model zoo")
    return manifests[0].parent


def read_manifest(root: str | os.PathLike, label: str | None = None) -> dict:
    """The manifest of a zoo folder, with its format checked."""
    path = Path(root) / MANIFEST
    label = label or str(path)
    if not path.is_file():
        raise InputError(
            f"{label}: not found: {root} is not a model zoo (export one with "
            "`transfer-tsc export-zoo`)"
        )
    try:
        manifest = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{label}: not valid JSON (corrupt or truncated?): {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{label}: not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{label}: zoo format version {manifest.get('format_version')}, this package reads "
            f"version {FORMAT_VERSION}"
        )
    for key in ("datasets", "files"):
        if not isinstance(manifest.get(key), dict):
            raise InputError(f"{label}: no '{key}' table")
    return manifest


def verify(root: Path, manifest: dict, label: Callable[[str], str] = str) -> None:
    """Check every file the manifest lists: present, of its size, of its sha256; and every
    file a dataset names is listed. Raise InputError naming the first bad file."""
    listed = manifest["files"]
    for name, entry in manifest["datasets"].items():
        for kind in ARTEFACTS:
            relative = entry.get(kind) if isinstance(entry, dict) else None
            if relative and relative not in listed:
                raise InputError(f"{label(MANIFEST)}: {name}'s {kind} {relative} has no checksum")
    for relative, expected in sorted(listed.items()):
        path = (root / relative).resolve()
        if root.resolve() not in path.parents:
            raise InputError(f"{label(MANIFEST)}: {relative} points outside the zoo")
        if not path.is_file():
            raise InputError(f"{label(relative)}: missing (listed in {MANIFEST})")
        size = path.stat().st_size
        if size != expected.get("bytes"):
            raise InputError(
                f"{label(relative)}: {size} bytes, the manifest says {expected.get('bytes')}: "
                "truncated or altered, refused"
            )
        if sha256(path) != expected.get("sha256"):
            raise InputError(
                f"{label(relative)}: sha256 differs from the manifest: altered or corrupt, refused"
            )


def pack(folder: str | os.PathLike, archive: str | os.PathLike) -> dict:
    """Verify a zoo folder and write its manifest and listed files as a ``.tar.gz`` archive
    (atomically); return the manifest."""
    from transfer_tsc.io import atomic_path

    folder = Path(folder)
    manifest = read_manifest(folder)
    verify(folder, manifest, lambda relative: str(folder / relative))
    top = Path(str(archive)).name.removesuffix(".tar.gz")
    with atomic_path(archive) as tmp:
        with tarfile.open(tmp, "w:gz") as tar:
            for relative in [MANIFEST, *sorted(manifest["files"])]:  # nothing unlisted
                tar.add(folder / relative, arcname=f"{top}/{relative}")
    return manifest


def verify_contents(root: Path, manifest: dict, label: Callable[[str], str] = str) -> None:
    """Load every model of a verified zoo and read every prototypes file: a zoo packed (by an
    older version) from a damaged file has that file's sha256 in its manifest. Raise InputError
    naming the first that does not read."""
    files = [
        (kind, root / entry[kind], name, label(entry[kind]))
        for name, entry in sorted(manifest["datasets"].items())
        for kind in ("model", "prototypes")
        if isinstance(entry, dict) and entry.get(kind)
    ]
    _check_contents(
        files,
        lambda kind, message: f"{message}; refused (export the zoo again from an intact study)",
    )


def open_zoo(path: str | os.PathLike, load_models: bool = False) -> Zoo:
    """Open a zoo folder or ``.tar.gz`` archive and verify every file's checksum; with
    ``load_models``, also load every model and read every other file (:func:`verify_contents`)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: model zoo not found")
    if path.is_dir():
        manifest = read_manifest(path)
        verify(path, manifest, lambda relative: str(path / relative))
        if load_models:
            verify_contents(path, manifest, lambda relative: str(path / relative))
        return Zoo(path, manifest)
    tmp = tempfile.TemporaryDirectory(prefix="transfer-tsc-zoo.")
    try:
        root = _extract(path, Path(tmp.name))
        manifest = read_manifest(root, f"{path}:{MANIFEST}")
        verify(root, manifest, lambda relative: f"{path}:{relative}")
        if load_models:
            verify_contents(root, manifest, lambda relative: f"{path}:{relative}")
    except BaseException:
        tmp.cleanup()
        raise
    return Zoo(root, manifest, tmp)


@contextlib.contextmanager
def references_from(
    study: str | os.PathLike | None = None,
    zoo: str | os.PathLike | None = None,
    network: str | None = None,
) -> Iterator[tuple[list[Reference], dict | None, str]]:
    """The references (and the study's config, when known) of a study folder's ``network``
    (None: the FCN) or of a zoo (None: its network; another than the zoo's is refused), and
    their network."""
    if (study is None) == (zoo is None):
        raise InputError("give either a study's results folder or a model zoo")
    if zoo is not None:
        with open_zoo(zoo) as opened:
            if network is not None and network != opened.network:
                raise InputError(
                    f"{zoo}: a zoo of {opened.network} models, not {network}; give --network "
                    f"{opened.network} or a zoo of {network} models"
                )
            yield opened.references, opened.config, opened.network
    else:
        chosen = network or PAPER_NETWORK
        yield study_references(study, network=chosen), None, chosen


def describer(
    load: Callable[[str], Dataset] | None,
    references: Sequence[Reference] = (),
    unreadable: Callable[[str, InputError], None] | None = None,
) -> Callable[[str], dict[str, object] | None]:
    """``export_zoo``'s ``describe_dataset``: a dataset's manifest entry from its data,
    ``load(name)`` (``describe``); from its prototypes in ``references``
    (``describe_prototypes``) without ``load``, or when the data cannot be read
    (InputError) and ``unreadable`` is given (called with the name and the error first); None
    without either."""
    prototypes = {r.name: r.prototypes for r in references}

    def entry(name: str) -> dict[str, object] | None:
        if load is not None:
            try:
                return describe(load(name))
            except InputError as error:
                if unreadable is None:
                    raise
                unreadable(name, error)
        path = prototypes.get(name)
        return describe_prototypes(path) if path is not None else None

    return entry
