"""The paper's transfer learning (sections III-B, III-C) as a scikit-learn estimator for a user's
own labelled series, in aeon's data layout (``archive``), from Python rather than the workflow.

``TransferClassifier.fit(X, y)`` opens a model zoo (or a study's ``results`` folder) and checks
it as ``transfer-tsc verify-zoo`` does (``zoo.open_zoo``: every file's sha256, every model
loaded), ranks its sources for the data given exactly as ``transfer-tsc recommend`` does
(``recommend.recommend_for``: the study's data options, class prototypes, DTW distance, the
transferability scores), fine-tunes the first ranked source that has a pre-trained model with the
package's recipe and engine (``cli.finetune_recipe``, ``training.loop.train_together``: Adam,
the plateau schedule, the weights of the lowest train loss kept) and keeps the model.
``source=None`` trains the network from scratch with the same recipe. ``recommend_sources`` is
the ranking alone, the command's table. ``save`` / ``TransferClassifier.load`` keep a fitted
estimator as a folder: the model's HDF5 (the project's format), a JSON sidecar and the sha256
of both; pickling stores the same HDF5 bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from transfer_tsc import __version__, archive
from transfer_tsc import zoo as zoos
from transfer_tsc.archive import DataError
from transfer_tsc.cli import finetune_recipe
from transfer_tsc.data import ZNORMALISE_AUTO, Dataset
from transfer_tsc.errors import InputError
from transfer_tsc.io import atomic_folder, sha256
from transfer_tsc.networks import NETWORKS, PAPER_NETWORK
from transfer_tsc.recommend import DATA_OPTIONS, RANKINGS, data_options, recommend_for
from transfer_tsc.recommend import study_settings as prototype_settings
from transfer_tsc.training.recipe import Recipe

#: what ``fit`` calls the data it is given (the ranking's ``dataset`` column, log lines)
DATA_NAME = "X"
BACKENDS = ("tensorflow", "jax")
# the saved estimator: a folder of these three files
MODEL_FILE, SIDECAR_FILE, CHECKSUMS_FILE = "model.h5", "estimator.json", "sha256sums.txt"
SAVED_FORMAT, SAVED_FORMAT_VERSION = "transfer-tsc-classifier", 1
# train_together's progress line (training.loop): "<label>epoch 3/10: train loss 0.6931, ..."
_EPOCH_LINE = re.compile(r"epoch (\d+)/(\d+): train loss (\S+?),")


class _Progress:
    """The log of a fit: with ``verbose``, a tqdm bar over the epochs showing the train loss,
    and the other log lines written above it (stderr); silent otherwise."""

    def __init__(self, verbose: bool | int):
        self.verbose = bool(verbose)
        self.bar = None

    def __call__(self, line: str) -> None:
        if not self.verbose:
            return
        from tqdm.auto import tqdm

        match = _EPOCH_LINE.search(line)
        if match is None:
            (self.bar.write if self.bar is not None else tqdm.write)(line, file=sys.stderr)
            return
        done, total, loss = int(match[1]), int(match[2]), match[3]
        if self.bar is None:
            self.bar = tqdm(total=total, desc="fit", unit="epoch", file=sys.stderr, leave=True)
        self.bar.update(done - self.bar.n)
        self.bar.set_postfix_str(f"train loss {loss}", refresh=done == total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def _quiet_tensorflow() -> Iterator[None]:
    """Hold back TensorFlow's Python warnings (its "tf.function retracing" notice once a process
    has fitted a few estimators) while the estimator trains or predicts."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _is_study_folder(path: Path) -> bool:
    """A study's ``results`` folder (prototypes or pre-trained models, no zoo manifest)."""
    return (
        path.is_dir()
        and not (path / zoos.MANIFEST).exists()
        and (
            (path / "prototypes").is_dir()
            or any((path / n / "pretrain").is_dir() for n in NETWORKS)
        )
    )


@contextlib.contextmanager
def open_sources(
    zoo: str | os.PathLike, network: str | None = None, verify_models: bool = False
) -> Iterator[tuple[list[zoos.Reference], dict | None, str, str | None]]:
    """The references of a zoo (folder or ``.tar.gz``, every file checked against its manifest;
    with ``verify_models`` every model loaded too, as ``verify-zoo``) or of a study's
    ``results`` folder (the models of ``network``, FCN by default), the study's config when
    known, the network, and the sha256 of the zoo's manifest (None for a study folder)."""
    if zoo is None:
        raise InputError("zoo: None; give a model zoo (folder or .tar.gz) or a study's results")
    path = Path(zoo)
    if _is_study_folder(path):
        chosen = network or PAPER_NETWORK
        yield zoos.study_references(path, network=chosen), None, chosen, None
        return
    with zoos.open_zoo(path, load_models=verify_models) as opened:
        if network is not None and network != opened.network:
            raise InputError(
                f"{zoo}: a zoo of {opened.network} models, not {network}; give "
                f"network={opened.network!r} (or None) or a zoo of {network} models"
            )
        yield opened.references, opened.config, opened.network, sha256(opened.root / zoos.MANIFEST)


def _znormalise_option(options: dict, override: bool | str | None) -> bool | str:
    """The ``znormalise`` data option: the estimator's own when given, else the study's."""
    return options["znormalise"] if override is None else override


def _encoded(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct labels (``classes_``) and each case's code 0..C-1 among them;
    DataError for labels that are no classes (real numbers, mixed kinds) or a single class."""
    try:
        check_classification_targets(labels)
        classes, codes = np.unique(labels, return_inverse=True)
    except (ValueError, TypeError) as error:
        raise DataError(f"y: {' '.join(str(error).split())}") from None
    if len(classes) < 2:
        raise DataError(
            f"y: only one class ({classes[0]!r}); classification needs two or more classes"
        )
    return classes, codes.reshape(-1)


def _labels_as_json(classes: np.ndarray) -> tuple[list, bool]:
    """The class labels as JSON values (their own type for text, whole and real numbers and
    booleans), and whether any had to be written as text."""
    values, as_text = [], False
    for label in classes.tolist():
        if isinstance(label, (str, bool, int, float)) and label == label:
            values.append(label)
        else:
            values.append(str(label))
            as_text = True
    return values, as_text


class TransferClassifier(ClassifierMixin, BaseEstimator):
    """Fine-tune a pre-trained time series network on your labelled series (Ismail Fawaz et al.
    2018): the source chosen from a model zoo by the paper's DTW similarity or a
    transferability score, or none (trained from scratch).

    Parameters
    ----------
    source : "auto", a dataset name or None
        "auto": the source that ``transfer-tsc recommend`` ranks first by ``selection`` among
        those with a pre-trained model; a name: that source; None: no transfer, the network is
        trained from scratch (no zoo needed).
    zoo : path or None
        A model zoo folder or ``.tar.gz`` (``transfer-tsc export-zoo``) or a study's
        ``results`` folder.
    selection : "dtw" or a transferability score ("leep", "nce", "logme", "hscore")
        How "auto" ranks the sources (``recommend.RANKINGS``).
    network : "fcn", "resnet", "inception" or None
        The network: the zoo's (None), which must be the zoo's when given; FCN from scratch.
    n_epochs : int or None
        Training epochs; None: the study's fine-tuning epochs (the zoo's config), else 2000.
    batch_size : int or None
        Mini-batch size; None: the recipe's rule (16, at most a tenth of the train cases).
    znormalise : "auto", True, False or None
        Z-normalise each series: None as the study did (its data options), else as given.
    random_state : int or None
        Seed of the new head's (or the network's) weights and of the shuffles; None: the
        study's seed (the schema's default, 0, without a study): fitting is repeatable.
    backend : "tensorflow" or "jax"
        The Keras backend, fixed by the first fit of a process (``training.backend``).
    verbose : bool or int
        A progress bar over the epochs with the train loss, and the ranking's log lines, on
        stderr; nothing otherwise.

    Attributes
    ----------
    classes_, n_classes_ : the class labels (sorted, the columns of ``predict_proba``), their
        number. ``source_`` : the source fine-tuned (None from scratch). ``ranking_`` : the
        ``recommend`` table of every source (with ``source="auto"``, else None). ``network_``,
        ``n_timepoints_`` (the series length the network reads; other lengths are resampled
        to it), ``znormalise_`` (whether series are z-normalised), ``zoo_digest_`` (sha256 of
        the zoo's manifest), ``recipe_`` (the training recipe, a dict), ``history_`` (loss,
        accuracy, learning rate per epoch), ``best_epoch_``, ``model_`` (the Keras model).
    """

    def __init__(
        self,
        source: str | None = "auto",
        zoo: str | os.PathLike | None = None,
        selection: str = "dtw",
        network: str | None = None,
        n_epochs: int | None = None,
        batch_size: int | None = None,
        znormalise: bool | str | None = None,
        random_state: int | None = None,
        backend: str = "tensorflow",
        verbose: bool | int = False,
    ):
        self.source = source
        self.zoo = zoo
        self.selection = selection
        self.network = network
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.znormalise = znormalise
        self.random_state = random_state
        self.backend = backend
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_class = True
        return tags

    # ----------------------------------------------------------------------------- checks

    def _check_params(self) -> None:
        """InputError naming the first parameter of a wrong kind or value."""
        if self.source is not None and not isinstance(self.source, str):
            raise InputError(f"source: {self.source!r}; 'auto', a dataset name or None")
        if self.source is not None and self.zoo is None:
            raise InputError(
                f"source={self.source!r} needs zoo= (a model zoo or a study's results folder); "
                "source=None trains from scratch"
            )
        if self.selection not in RANKINGS:
            raise InputError(f"selection: {self.selection!r} is not one of {', '.join(RANKINGS)}")
        if self.network is not None and self.network not in NETWORKS:
            raise InputError(f"network: {self.network!r} is not one of {', '.join(NETWORKS)}")
        for name in ("n_epochs", "batch_size"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
            ):
                raise InputError(f"{name}: {value!r}; a whole number of at least 1, or None")
        if self.znormalise not in (None, True, False, ZNORMALISE_AUTO):
            raise InputError(f"znormalise: {self.znormalise!r}; 'auto', True, False or None")
        if self.backend not in BACKENDS:
            raise InputError(f"backend: {self.backend!r} is not one of {', '.join(BACKENDS)}")
        seed = self.random_state
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
        ):
            raise InputError(f"random_state: {seed!r}; a whole number of at least 0, or None")

    def _use_backend(self) -> None:
        from transfer_tsc.training.backend import use_backend

        try:
            use_backend(self.backend)
        except RuntimeError as error:
            raise InputError(f"backend={self.backend!r}: {error}") from None

    # ------------------------------------------------------------------------------- fit

    def fit(self, X, y) -> TransferClassifier:
        """Choose the source, fine-tune it on ``(X, y)`` (or train from scratch); ``self``."""
        self._check_params()
        series = archive.as_series(X)
        if y is not None and np.asarray(y).ndim == 2 and np.asarray(y).shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected: read as y.ravel()",
                DataConversionWarning,
                stacklevel=2,
            )
        classes, codes = _encoded(archive.as_labels(y, len(series)))
        class_names = tuple(str(label) for label in classes)
        progress = _Progress(self.verbose)
        self._use_backend()
        with _quiet_tensorflow(), contextlib.closing(progress):
            if self.source is None:
                self._fit_from_scratch(series, codes, class_names, progress)
            else:
                with open_sources(self.zoo, self.network, verify_models=True) as opened:
                    self._fit_from_zoo(series, codes, class_names, progress, *opened)
        self.classes_ = classes
        self.n_classes_ = len(classes)
        lengths = {len(s) for s in series}
        if len(lengths) == 1:  # series of one length: predict reads that length only (as aeon)
            self.n_features_in_ = lengths.pop()
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        return self

    def _fit_from_scratch(self, series, codes, class_names, progress: _Progress) -> None:
        self.zoo_digest_, self.ranking_, self.source_ = None, None, None
        options = {**DATA_OPTIONS}
        self.znormalise_ = archive.znormalise_decision(
            series, _znormalise_option(options, self.znormalise)
        )
        dataset = archive.dataset_from_series(
            DATA_NAME, archive.normalised(series, self.znormalise_), codes, class_names
        )
        self._train(dataset, None, None, self.network or PAPER_NETWORK, progress)

    def _fit_from_zoo(
        self,
        series,
        codes,
        class_names,
        progress: _Progress,
        references: list[zoos.Reference],
        study_config: dict | None,
        network_name: str,
        digest: str | None,
    ) -> None:
        self.zoo_digest_ = digest
        decided: dict[str, bool] = {}

        def load(options: dict) -> Dataset:
            """The data given, read with the study's data options (as the command reads a
            dataset folder) and the estimator's ``znormalise`` on top."""
            znormalise = archive.znormalise_decision(
                series, _znormalise_option(options, self.znormalise)
            )
            decided["znormalise"] = znormalise
            return archive.dataset_from_series(
                DATA_NAME, archive.normalised(series, znormalise), codes, class_names
            )

        models = {r.name: r.model for r in references if r.model is not None}
        if not models:
            raise InputError(f"{self.zoo}: no pre-trained {network_name} model to fine-tune")
        if self.source == "auto":
            dataset, ranking, _ = recommend_for(
                DATA_NAME,
                load,
                references,
                study_config,
                self.selection,
                top=0,
                scores=True,
                log=progress,
                network_name=network_name,
            )
            chosen = next(name for name in ranking["source"] if name in models)
            self.ranking_ = ranking
            progress(f"{self.selection} picks {chosen}")
        else:
            if self.source not in models:
                raise InputError(
                    f"source={self.source!r}: {self.zoo} has no pre-trained {network_name} model "
                    f"of it (it has {', '.join(sorted(models))})"
                )
            chosen, self.ranking_ = self.source, None
            prototypes = [r.prototypes for r in references if r.prototypes is not None]
            options = (
                data_options(study_config, prototype_settings(prototypes))
                if prototypes
                else {**DATA_OPTIONS, **((study_config or {}).get("data") or {})}
            )
            dataset = load(options)
        self.znormalise_ = decided["znormalise"]
        self.source_ = chosen
        self._train(dataset, models[chosen], study_config, network_name, progress)

    def _recipe(self, study_config: dict | None, network_name: str) -> Recipe:
        """The fine-tuning recipe (the study's or the paper's) with the estimator's epochs,
        seed and batch size; a progress line every epoch."""
        epochs, seed = (None if v is None else int(v) for v in (self.n_epochs, self.random_state))
        recipe = finetune_recipe(study_config, epochs, seed, network_name)
        changes: dict[str, object] = {"progress_every": 1, "checkpoint_every": recipe.epochs}
        if self.batch_size is not None:
            changes |= {"batch_size": int(self.batch_size), "batch_size_cap_tenth": False}
        return dataclasses.replace(recipe, **changes)

    def _train(
        self,
        dataset: Dataset,
        source_model: Path | None,
        study_config: dict | None,
        network_name: str,
        progress: _Progress,
    ) -> None:
        """Fine-tune ``source_model`` (a new head for the classes) or train a new network on
        ``dataset``'s train split with the recipe and engine (``train_together``)."""
        import keras

        from transfer_tsc.networks import network, with_new_head
        from transfer_tsc.training.loop import train_together
        from transfer_tsc.training.transfer import load_model

        spec = network(network_name)
        recipe = self._recipe(study_config, network_name)
        keras.utils.set_random_seed(recipe.seed)
        if source_model is None:
            model = spec.build(dataset.n_classes, seed=recipe.seed)
        else:
            model = with_new_head(load_model(source_model, spec), dataset.n_classes, recipe.seed)
        (result,) = train_together(
            [model],
            dataset.network_input("train"),
            dataset.y_train,
            dataset.n_classes,
            recipe,
            log=progress,
            label=f"[{self.source_ or 'scratch'} -> {DATA_NAME}] ",
            seeds=[recipe.seed],
        )
        self.model_ = model
        self.network_ = network_name
        self.n_timepoints_ = dataset.length
        self.recipe_ = dataclasses.asdict(recipe)
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch

    # --------------------------------------------------------------------------- predict

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, one column per label of ``classes_`` (float64)."""
        check_is_fitted(self, "model_")
        from transfer_tsc.training.loop import predict

        series = archive.as_series(X)
        expected = getattr(self, "n_features_in_", None)
        other = next((len(s) for s in series if len(s) != expected), None)
        if expected is not None and other is not None:
            raise DataError(
                f"X has {other} features, but {type(self).__name__} is expecting {expected} "
                f"features as input: series of {other} time points, fit's were of {expected} "
                "(resample them, or fit on a list of series of unequal lengths)"
            )
        x = archive.network_input(archive.normalised(series, self.znormalise_), self.n_timepoints_)
        with _quiet_tensorflow():
            return np.asarray(predict(self.model_, x), dtype=np.float64)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each case, as a label of ``classes_``."""
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy on ``(X, y)``; DataError when ``y`` holds a label not seen in fit."""
        check_is_fitted(self, "model_")
        labels = archive.as_labels(y, len(archive.as_series(X)))
        unseen = sorted({str(label) for label in labels} - {str(c) for c in self.classes_})
        if unseen:
            raise DataError(
                f"y: label(s) {', '.join(unseen)} not among the classes seen in fit "
                f"({', '.join(str(c) for c in self.classes_)})"
            )
        return super().score(X, y, sample_weight)

    # ------------------------------------------------------------------- save, load, pickle

    def _sidecar(self) -> dict:
        labels, as_text = _labels_as_json(self.classes_)
        software = {"transfer-tsc": __version__}
        for package in ("keras", "tensorflow", "scikit-learn", "numpy"):
            with contextlib.suppress(metadata.PackageNotFoundError):
                software[package] = metadata.version(package)
        return {
            "format": SAVED_FORMAT,
            "format_version": SAVED_FORMAT_VERSION,
            "classes": labels,
            "classes_dtype": self.classes_.dtype.str if self.classes_.dtype.kind != "O" else "O",
            "classes_as_text": as_text,
            "params": {
                k: (str(v) if isinstance(v, os.PathLike) else v)
                for k, v in self.get_params().items()
            },
            "fitted": {
                "source": self.source_,
                "network": self.network_,
                "n_timepoints": int(self.n_timepoints_),
                "n_features_in": getattr(self, "n_features_in_", None),
                "znormalise": bool(self.znormalise_),
                "zoo_manifest_sha256": self.zoo_digest_,
                "best_epoch": int(self.best_epoch_),
                "recipe": self.recipe_,
            },
            "history": self.history_.to_dict(orient="list"),
            "ranking": None if self.ranking_ is None else self.ranking_.to_json(orient="split"),
            "software": software,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted estimator as the folder ``path``: ``model.h5`` (HDF5),
        ``estimator.json`` (classes, parameters, source, zoo manifest's sha256, software
        versions) and ``sha256sums.txt`` (of both; ``sha256sum -c`` reads it), assembled under
        a temporary name and renamed into place whole. Returns the folder."""
        check_is_fitted(self, "model_")
        from transfer_tsc.training.transfer import save_model

        folder = Path(path)
        with atomic_folder(folder) as staging:
            save_model(self.model_, staging / MODEL_FILE)
            sidecar = self._sidecar()
            sidecar["model_sha256"] = sha256(staging / MODEL_FILE)
            (staging / SIDECAR_FILE).write_text(json.dumps(sidecar, indent=2, default=str) + "\n")
            (staging / CHECKSUMS_FILE).write_text(
                "".join(f"{sha256(staging / f)}  {f}\n" for f in (MODEL_FILE, SIDECAR_FILE))
            )
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike) -> TransferClassifier:
        """A fitted estimator saved by ``save``; InputError in one line for a missing, altered
        or mismatched file (its sha256 against ``sha256sums.txt`` and the sidecar's)."""
        folder = Path(path)
        checksums = folder / CHECKSUMS_FILE
        if not checksums.is_file():
            raise InputError(f"{folder}: not a saved TransferClassifier (no {CHECKSUMS_FILE})")
        expected = dict(
            reversed(line.split(maxsplit=1)) for line in checksums.read_text().splitlines() if line
        )
        for name in (MODEL_FILE, SIDECAR_FILE):
            file = folder / name
            if not file.is_file():
                raise InputError(f"{file}: missing (listed in {CHECKSUMS_FILE})")
            if sha256(file) != expected.get(name):
                raise InputError(
                    f"{file}: sha256 differs from {CHECKSUMS_FILE}: altered or corrupt, refused"
                )
        try:
            sidecar = json.loads((folder / SIDECAR_FILE).read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(f"{folder / SIDECAR_FILE}: not valid JSON: {error}") from None
        if sidecar.get("format") != SAVED_FORMAT:
            raise InputError(f"{folder / SIDECAR_FILE}: not a {SAVED_FORMAT} sidecar")
        if sidecar.get("format_version") != SAVED_FORMAT_VERSION:
            raise InputError(
                f"{folder / SIDECAR_FILE}: format version {sidecar.get('format_version')}, this "
                f"package reads version {SAVED_FORMAT_VERSION}"
            )
        if sidecar.get("model_sha256") != expected[MODEL_FILE]:
            raise InputError(
                f"{folder / MODEL_FILE}: not the model its sidecar {SIDECAR_FILE} was saved with "
                "(sha256 mismatch): mismatched files, refused"
            )
        estimator = cls(**sidecar["params"])
        estimator._use_backend()
        from transfer_tsc.training.transfer import load_model

        fitted = sidecar["fitted"]
        model = load_model(folder / MODEL_FILE, spec=None)
        estimator._restore(sidecar, model)
        if model.name != fitted["network"]:
            raise InputError(
                f"{folder / MODEL_FILE}: a {model.name} model, its sidecar says {fitted['network']}"
            )
        return estimator

    def _restore(self, sidecar: dict, model) -> None:
        """The fitted attributes from a sidecar (``_sidecar``) and the model."""
        dtype = np.dtype(object) if sidecar["classes_dtype"] == "O" else None
        if dtype is None and not sidecar["classes_as_text"]:
            dtype = np.dtype(sidecar["classes_dtype"])
        fitted = sidecar["fitted"]
        self.classes_ = np.array(sidecar["classes"], dtype=dtype)
        self.n_classes_ = len(self.classes_)
        self.source_ = fitted["source"]
        self.network_ = fitted["network"]
        self.n_timepoints_ = fitted["n_timepoints"]
        if fitted["n_features_in"] is not None:
            self.n_features_in_ = fitted["n_features_in"]
        self.znormalise_ = fitted["znormalise"]
        self.zoo_digest_ = fitted["zoo_manifest_sha256"]
        self.best_epoch_ = fitted["best_epoch"]
        self.recipe_ = fitted["recipe"]
        self.history_ = pd.DataFrame(sidecar["history"])
        self.ranking_ = (
            None
            if sidecar["ranking"] is None
            else pd.read_json(io.StringIO(sidecar["ranking"]), orient="split")
        )
        self.model_ = model

    def __getstate__(self) -> dict:
        """The estimator's state with the Keras model as its HDF5 bytes (Keras models do not
        pickle)."""
        state = self.__dict__.copy()
        if "model_" in state:
            from transfer_tsc.training.transfer import save_model

            with tempfile.TemporaryDirectory(prefix="transfer-tsc.") as tmp:
                save_model(state["model_"], Path(tmp) / MODEL_FILE)
                state["model_"] = (Path(tmp) / MODEL_FILE).read_bytes()
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state.get("model_"), bytes):
            from transfer_tsc.training.backend import import_keras_quietly
            from transfer_tsc.training.transfer import load_model

            import_keras_quietly()
            with tempfile.TemporaryDirectory(prefix="transfer-tsc.") as tmp:
                (Path(tmp) / MODEL_FILE).write_bytes(state["model_"])
                state["model_"] = load_model(Path(tmp) / MODEL_FILE, spec=None)
        self.__dict__.update(state)


def recommend_sources(
    X,
    y,
    zoo: str | os.PathLike,
    top: int = 5,
    score: str = "dtw",
    network: str | None = None,
    znormalise: bool | str | None = None,
    name: str = DATA_NAME,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The sources of ``zoo`` (a zoo or a study's ``results`` folder) ranked for ``(X, y)``
    (aeon's layout) as ``transfer-tsc recommend --top top --score score`` ranks them for a
    dataset folder: the same table as its ``--out`` CSV (``dataset`` is ``name``), with every
    transferability score when the sources have pre-trained models. The zoo's files are checked
    against its manifest (not loaded: as the command)."""
    if score not in RANKINGS:
        raise InputError(f"score: {score!r} is not one of {', '.join(RANKINGS)}")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 0:
        raise InputError(f"top: {top!r}; a whole number (0: every source)")
    series = archive.as_series(X)
    classes, codes = _encoded(archive.as_labels(y, len(series)))
    class_names = tuple(str(label) for label in classes)
    with open_sources(zoo, network) as (references, study_config, network_name, _):
        if score != "dtw" and not any(r.model is not None for r in references):
            raise InputError(
                f"score={score!r} needs the sources' pre-trained models; {zoo} has none"
            )

        def load(options: dict) -> Dataset:
            decided = archive.znormalise_decision(series, _znormalise_option(options, znormalise))
            return archive.dataset_from_series(
                name, archive.normalised(series, decided), codes, class_names
            )

        _, _, table = recommend_for(
            name,
            load,
            references,
            study_config,
            score,
            top,
            scores=True,
            log=log or (lambda line: None),
            network_name=network_name,
        )
    return table.reset_index(drop=True)
