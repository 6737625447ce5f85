"""A small demo archive generated from the published formulas of three synthetic UCR datasets,
written in the UCR 2018 layout (tab-separated, label first), z-normalised per series.

* CBF (Saito 1994): cylinder, bell and funnel shapes of amplitude 6 + eta on [a, b] plus N(0, 1)
  noise; a ~ U[16, 32], b - a ~ U[32, 96], length 128.
* SyntheticControl (Alcock and Manolopoulos 1999): m + r s with m = 30, s = 2, r ~ U[-3, 3], plus
  cyclic a sin(2 pi t / T) (a, T ~ U[10, 15]), increasing / decreasing trend +- g t (g ~ U[0.2,
  0.5]) or upward / downward shift +- x [t >= t3] (x ~ U[7.5, 20], t3 ~ U[n/3, 2n/3]); length 60.
* TwoPatterns (Geurts 2002): N(0, 1) background with two steps, each "up" (-5 then +5) or
  "down" (+5 then -5), one in each half of the series; classes UU, UD, DU, DD; length 128.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from transfer_tsc.io import atomic_path

Generator = Callable[[np.random.Generator, int], np.ndarray]


def cbf(rng: np.random.Generator, label: int, length: int = 128) -> np.ndarray:
    t = np.arange(length)
    a = rng.uniform(16, 32)
    b = a + rng.uniform(32, 96)
    inside = (t >= a) & (t <= b)
    amplitude = 6 + rng.normal()
    shape = {0: np.ones(length), 1: (t - a) / (b - a), 2: (b - t) / (b - a)}[label]
    return amplitude * inside * shape + rng.normal(size=length)


def synthetic_control(rng: np.random.Generator, label: int, length: int = 60) -> np.ndarray:
    t = np.arange(length)
    base = 30 + 2 * rng.uniform(-3, 3, size=length)
    if label == 1:
        base += rng.uniform(10, 15) * np.sin(2 * np.pi * t / rng.uniform(10, 15))
    elif label in (2, 3):
        base += (1 if label == 2 else -1) * rng.uniform(0.2, 0.5) * t
    elif label in (4, 5):
        t3 = rng.uniform(length / 3, 2 * length / 3)
        base += (1 if label == 4 else -1) * rng.uniform(7.5, 20) * (t >= t3)
    return base


def two_patterns(rng: np.random.Generator, label: int, length: int = 128) -> np.ndarray:
    series = rng.normal(size=length)
    half = length // 2
    for position, up in enumerate(((label >> 1) & 1 == 0, label & 1 == 0)):
        width = int(rng.integers(length // 8, length // 4))
        start = position * half + int(rng.integers(0, half - width))
        step = np.where(np.arange(width) < width // 2, -5.0, 5.0)
        series[start : start + width] = step if up else -step
    return series


# name -> (generator, classes, n_train, n_test)
DEMO_DATASETS: dict[str, tuple[Callable, int, int, int]] = {
    "CBF": (cbf, 3, 30, 90),
    "SyntheticControl": (synthetic_control, 6, 60, 120),
    "TwoPatterns": (two_patterns, 4, 40, 120),
}


def series_length(name: str) -> int:
    """The length of a demo dataset's series (its generator's default)."""
    generator = DEMO_DATASETS[name][0]
    return int(inspect.signature(generator).parameters["length"].default)


def znormalise(series: np.ndarray) -> np.ndarray:
    return (series - series.mean()) / series.std()


def generate_split(name: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` series of a demo dataset with balanced labels 1..C (as in the UCR files)."""
    generator, classes, _, _ = DEMO_DATASETS[name]
    labels = np.arange(n) % classes
    rng.shuffle(labels)
    x = np.stack([znormalise(generator(rng, int(c))) for c in labels])
    return labels + 1, x


def write_ucr_split(path: str | os.PathLike, labels: np.ndarray, x: np.ndarray) -> None:
    """Write one split in the UCR 2018 layout, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            for label, row in zip(labels, x):
                f.write(f"{label}\t" + "\t".join(f"{v:.6f}" for v in row) + "\n")


def write_demo_dataset(root: str | os.PathLike, name: str, seed: int = 0) -> None:
    """Generate and write ``root/name/name_TRAIN.tsv`` and ``_TEST.tsv``."""
    _, _, n_train, n_test = DEMO_DATASETS[name]
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    folder = Path(root) / name
    for split, n in (("TRAIN", n_train), ("TEST", n_test)):
        labels, x = generate_split(name, n, rng)
        write_ucr_split(folder / f"{name}_{split}.tsv", labels, x)
