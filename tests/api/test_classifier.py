"""``TransferClassifier`` and ``recommend_sources`` on the real UCR subset with a tiny zoo
(``tiny_zoo`` of tests/conftest.py): the source "auto" picks is the one ``transfer-tsc
recommend`` ranks first, every input form gives the same predictions, bad input gets one clear
error, a saved estimator loads to the same probabilities and an altered one is refused."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from transfer_tsc import TransferClassifier, load_ucr, recommend_sources
from transfer_tsc.errors import InputError
from transfer_tsc.transferability import SCORES

TARGET = "GunPoint"  # the user's data: not a source of the tiny zoo
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def target(ucr_root):
    """The user's data: GunPoint's train and test splits in aeon's layout."""
    return (*load_ucr(TARGET, ucr_root), *load_ucr(TARGET, ucr_root, split="test"))


@pytest.fixture(scope="module")
def fitted(target, tiny_zoo) -> TransferClassifier:
    """Fine-tuned from the source "auto" picks, 2 epochs."""
    X, y, _, _ = target
    return TransferClassifier(zoo=tiny_zoo, n_epochs=2, random_state=0).fit(X, y)


def scratch(X, y, epochs: int = 1, **params) -> TransferClassifier:
    return TransferClassifier(source=None, n_epochs=epochs, random_state=0, **params).fit(X, y)


def test_auto_picks_the_commands_first_and_recommend_sources_is_its_table(
    fitted, target, tiny_zoo, tiny_study, ucr_root, tmp_path
):
    out = tmp_path / "recommendations.csv"
    command = [str(VENV_BIN / "transfer-tsc"), "recommend", "--dataset", str(ucr_root / TARGET)]
    result = subprocess.run(
        [*command, "--zoo", str(tiny_zoo), "--top", "0", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    expected = pd.read_csv(out)
    X, y, _, _ = target
    table = recommend_sources(X, y, zoo=tiny_zoo, top=0, name=TARGET)
    assert list(table.columns) == list(expected.columns)
    assert table["source"].tolist() == expected["source"].tolist()
    assert (table["dataset"] == TARGET).all()
    numbers = ["distance", *SCORES]
    np.testing.assert_allclose(table[numbers], expected[numbers], rtol=1e-5)
    assert fitted.source_ == expected["source"].iloc[0]  # every source of the zoo has a model
    assert fitted.ranking_["source"].tolist() == expected["source"].tolist()
    from_study = recommend_sources(X, y, zoo=tiny_study[0], top=0, name=TARGET)  # results/
    pd.testing.assert_frame_equal(from_study, table)
    top = recommend_sources(X, y, zoo=tiny_zoo, top=2, score="logme")
    assert top["source"].tolist() == expected.sort_values("logme_rank")["source"].head(2).tolist()


def test_fitted_attributes_follow_the_estimator_contract(fitted, target):
    X, y, X_test, y_test = target
    assert fitted.classes_.tolist() == ["1", "2"] and fitted.n_classes_ == 2
    assert fitted.n_features_in_ == fitted.n_timepoints_ == 150
    assert fitted.network_ == "fcn" and len(fitted.zoo_digest_) == 64
    assert len(fitted.history_) == 2 and 1 <= fitted.best_epoch_ <= 2
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(y_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert fitted.predict(X_test).tolist() == fitted.classes_[proba.argmax(1)].tolist()
    assert 0.0 <= fitted.score(X_test, y_test) <= 1.0
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not hasattr(copy, "model_")


def test_every_input_form_gives_the_same_predictions(fitted, target):
    _, _, X_test, _ = target
    expected = fitted.predict_proba(X_test)  # 3D (n_cases, 1, n_timepoints)
    flat = X_test[:, 0, :]
    forms = {
        "2D": flat,
        "list of 2D": list(X_test),
        "list of 1D": list(flat),
        "pandas": pd.DataFrame(flat),
        "float32": X_test.astype(np.float32),
    }
    for name, X in forms.items():
        np.testing.assert_allclose(fitted.predict_proba(X), expected, rtol=1e-6, err_msg=name)


def test_string_labels_come_back_and_unequal_lengths_read_as_resampled(target):
    X, y, X_test, _ = target
    X, y, X_test = X[:24], y[:24], X_test[:10]
    numbers = y.astype(int)  # labels 1, 2
    words = np.where(numbers == 1, "gun", "point")  # the same order when sorted
    by_number, by_word = scratch(X, numbers), scratch(X, words)
    assert by_number.classes_.tolist() == [1, 2] and by_word.classes_.tolist() == ["gun", "point"]
    np.testing.assert_allclose(by_word.predict_proba(X_test), by_number.predict_proba(X_test))
    assert set(by_word.predict(X_test)) <= {"gun", "point"}
    # series of unequal lengths: a list; each is read resampled to the longest of fit
    unequal = [s[:, : 150 - 10 * (i % 4)] for i, s in enumerate(X)]
    ragged = scratch(unequal, words, znormalise=False)  # resampling alone
    assert not hasattr(ragged, "n_features_in_") and ragged.n_timepoints_ == 150
    test = [s[0, : 120 + 7 * (i % 5)] for i, s in enumerate(X_test)]
    resampled = np.stack(
        [np.interp(np.linspace(0, len(s) - 1, 150), np.arange(len(s)), s) for s in test]
    )
    np.testing.assert_allclose(
        ragged.predict_proba(test), ragged.predict_proba(resampled), rtol=1e-6
    )


def _one_line_error(call, match: str, data: bool = True) -> None:
    """``call()`` raises one InputError matching ``match``, in one line; for bad data also a
    ValueError, what scikit-learn's callers catch."""
    with pytest.raises(InputError, match=match) as caught:
        call()
    assert isinstance(caught.value, ValueError) == data
    assert "\n" not in str(caught.value)


def test_bad_input_gets_one_clear_error(fitted, target):
    X, y, X_test, y_test = target
    fresh = TransferClassifier(source=None, n_epochs=1)
    with_nan, with_inf = X.copy(), X.copy()
    with_nan[3, 0, 7], with_inf[5, 0, 9] = np.nan, np.inf
    three_channels = np.repeat(X, 3, axis=1)
    cases = {
        "NaN": (lambda: fresh.fit(with_nan, y), "holds NaN"),
        "inf": (lambda: fitted.predict(with_inf), "holds inf"),
        "empty": (lambda: fresh.fit(np.empty((0, 1, 150)), []), r"empty array .*\(0 cases\)"),
        "channels": (lambda: fresh.fit(three_channels, y), "3 channels .*univariate"),
        "unseen class": (
            lambda: fitted.score(X_test, np.where(y_test == "2", "3", y_test)),
            r"label\(s\) 3 not among the classes seen in fit \(1, 2\)",
        ),
        "one class": (lambda: fresh.fit(X, np.full(len(y), "1")), "only one class"),
        "length": (lambda: fitted.predict(X_test[:, :, :100]), "100 time points, fit's .* 150"),
    }
    for name, (call, match) in cases.items():
        _one_line_error(call, match)
    with pytest.raises(InputError, match="source='auto' needs zoo="):
        TransferClassifier().fit(X, y)
    with pytest.raises(InputError, match="selection: 'best'"):
        TransferClassifier(zoo="z", selection="best").fit(X, y)


def test_save_load_pickle_give_the_same_probabilities_and_an_altered_file_is_refused(
    fitted, target, tmp_path
):
    _, _, X_test, _ = target
    expected = fitted.predict_proba(X_test)
    folder = fitted.save(tmp_path / "saved")
    loaded = TransferClassifier.load(folder)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), expected)
    assert loaded.source_ == fitted.source_
    assert loaded.get_params() == {**fitted.get_params(), "zoo": str(fitted.zoo)}
    assert loaded.ranking_["source"].tolist() == fitted.ranking_["source"].tolist()
    sidecar = json.loads((folder / "estimator.json").read_text())
    assert sidecar["classes"] == ["1", "2"]
    assert sidecar["fitted"]["zoo_manifest_sha256"] == fitted.zoo_digest_
    assert {"transfer-tsc", "keras"} <= set(sidecar["software"])
    unpickled = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(unpickled.predict_proba(X_test), expected)

    model = folder / "model.h5"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    _one_line_error(lambda: TransferClassifier.load(folder), "model.h5: sha256 differs", data=False)

    # another estimator's model with checksums remade to match: the sidecar names its own
    other = fitted.save(tmp_path / "other")
    (other / "model.h5").write_bytes(bytes(data))
    from transfer_tsc.io import sha256

    (other / "sha256sums.txt").write_text(
        "".join(f"{sha256(other / f)}  {f}\n" for f in ("model.h5", "estimator.json"))
    )
    _one_line_error(lambda: TransferClassifier.load(other), "not the model its sidecar", data=False)


def test_numbers_as_labels_survive_save_and_load(target, tmp_path):
    X, y, X_test, _ = target
    numbers = scratch(X[:20], y[:20].astype(int))
    loaded = TransferClassifier.load(numbers.save(tmp_path / "numbers"))
    assert loaded.classes_.dtype == numbers.classes_.dtype
    assert loaded.predict(X_test[:5]).tolist() == numbers.predict(X_test[:5]).tolist()
    assert isinstance(loaded.predict(X_test[:1])[0], np.integer)


def test_progress_bar_only_when_verbose_and_no_console_noise(target, capfd):
    X, y, _, _ = target
    scratch(X[:20], y[:20], epochs=2)
    quiet = capfd.readouterr()
    assert quiet.out == "" and quiet.err == ""
    scratch(X[:20], y[:20], epochs=2, verbose=True)
    shown = capfd.readouterr()
    assert shown.out == ""
    assert "2/2" in shown.err and "train loss" in shown.err and "epoch" in shown.err


def test_load_ucr_reads_the_archive_in_aeons_layout(ucr_root, tmp_path):
    X, y = load_ucr("Coffee", ucr_root)
    X_test, y_test = load_ucr("Coffee", ucr_root, split="test")
    X_all, y_all = load_ucr("Coffee", ucr_root, split=None)
    assert X.shape == (28, 1, 286) and X.dtype == np.float64 and sorted(set(y)) == ["0", "1"]
    np.testing.assert_array_equal(X_all, np.concatenate([X, X_test]))
    assert y_all.tolist() == [*y, *y_test]
    ragged, _ = load_ucr("GesturePebbleZ1", ucr_root)  # series of unequal lengths
    assert isinstance(ragged, list) and {s.shape[0] for s in ragged} == {1}
    assert len({s.shape[1] for s in ragged}) > 1
    # the 2015 layout: comma-separated files without extension
    folder = tmp_path / "Tiny"
    folder.mkdir()
    for split, rows in {"TRAIN": "1,0,1,2,3\n2,3,2,1,0\n", "TEST": "2,1,2,3,4\n"}.items():
        (folder / f"Tiny_{split}").write_text(rows)
    X_tiny, y_tiny = load_ucr("Tiny", tmp_path)
    assert X_tiny.tolist() == [[[0, 1, 2, 3]], [[3, 2, 1, 0]]] and y_tiny.tolist() == ["1", "2"]
    with pytest.raises(InputError, match="split: 'validation'"):
        load_ucr("Tiny", tmp_path, split="validation")
    with pytest.raises(InputError, match="Missing"):
        load_ucr("Missing", tmp_path)


def test_importing_the_package_imports_neither_keras_nor_scikit_learn():
    code = (
        "import sys, transfer_tsc\n"
        "heavy = {'keras', 'tensorflow', 'sklearn'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
        "transfer_tsc.load_ucr\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
        "assert 'TransferClassifier' in dir(transfer_tsc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr


def test_a_score_chooses_the_source_and_a_jax_fit_prints_nothing(target, tiny_zoo, ucr_root):
    """In a fresh interpreter on the JAX backend, where TensorFlow is first imported when the
    seeds are set (Keras seeds TensorFlow's generator too) and its C++ start-up notices would
    reach the console; ``selection="logme"`` fine-tunes the score's first source."""
    X, y, _, _ = target
    expected = recommend_sources(X, y, zoo=tiny_zoo, top=1, score="logme", name=TARGET)
    code = (
        "import sys\n"
        "from transfer_tsc import TransferClassifier, load_ucr\n"
        f"X, y = load_ucr({TARGET!r}, sys.argv[1])\n"
        "fitted = TransferClassifier(zoo=sys.argv[2], selection='logme', backend='jax',\n"
        "                            n_epochs=1, random_state=0).fit(X, y)\n"
        "import keras\n"
        "print(fitted.source_, keras.backend.backend(), 'tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(ucr_root), str(tiny_zoo)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [expected["source"].iloc[0], "jax", "True"]
    assert result.stderr == ""
