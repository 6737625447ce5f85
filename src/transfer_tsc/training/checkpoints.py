"""The resumable training state: one HDF5 file per training job, the same for every engine.

The state is each model's record (``ModelRun``: its learning-rate schedule, best loss and
epoch, history) and what its engine holds (weights, Adam state, best weights), with the epoch
reached, the seconds spent, the recipe it was written under and each model's shuffle seed. A
checkpoint written under another recipe or other seeds is refused (one written without seeds,
before they were recorded, was trained with the recipe's seed for every model), as is a file
that is not HDF5.

Layout: attributes ``epoch``, ``elapsed``, ``recipe``, ``seeds`` (one integer per model); per
model ``model<k>/`` with datasets ``weights/<i>``, ``optimizer/<i>``, ``best/<i>`` (none
before a best was kept) and ``history`` (rows epoch, loss, accuracy, lr), and attributes
``lr``, ``plateau_best``, ``plateau_wait``, ``best_loss``, ``best_epoch``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from transfer_tsc.errors import InputError
from transfer_tsc.io import atomic_path
from transfer_tsc.training.engines import Engine
from transfer_tsc.training.recipe import PlateauSchedule, Recipe


@dataclass
class ModelRun:
    """One model's training record (its weights live in the engine)."""

    schedule: PlateauSchedule
    best_loss: float = math.inf
    best_epoch: int = 0
    history: list[dict] = field(default_factory=list)

    def history_frame(self) -> pd.DataFrame:
        """The history as a table: epoch, loss, accuracy, lr (the rate the epoch trained with)."""
        return pd.DataFrame(self.history, columns=["epoch", "loss", "accuracy", "lr"])


def _recipe_key(recipe: Recipe) -> str:
    """The recipe as the text a checkpoint stores (its fields sorted by name)."""
    return repr(sorted(asdict(recipe).items()))


def save_checkpoint(
    path: str | Path,
    epoch: int,
    elapsed: float,
    engine: Engine,
    runs: list[ModelRun],
    recipe: Recipe,
    seeds: Sequence[int] | None = None,
) -> None:
    """Write the state after ``epoch`` epochs and ``elapsed`` seconds to ``path`` (atomically);
    ``seeds``: each model's shuffle seed (None: ``recipe.seed`` for every model)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["epoch"] = epoch
        f.attrs["elapsed"] = elapsed
        f.attrs["recipe"] = _recipe_key(recipe)
        f.attrs["seeds"] = np.array(_seeds(seeds, len(runs), recipe), dtype=np.int64)
        for k, run in enumerate(runs):
            g = f.create_group(f"model{k}")
            for i, w in enumerate(engine.weights(k)):
                g[f"weights/{i}"] = w
            for i, v in enumerate(engine.optimizer_values(k)):
                g[f"optimizer/{i}"] = v
            for i, w in enumerate(engine.best_weights(k) or []):
                g[f"best/{i}"] = w
            g.attrs.update(
                lr=run.schedule.lr,
                plateau_best=run.schedule.best,
                plateau_wait=run.schedule.wait,
                best_loss=run.best_loss,
                best_epoch=run.best_epoch,
            )
            g["history"] = run.history_frame().to_numpy(dtype=np.float64)


def _seeds(seeds: Sequence[int] | None, n_models: int, recipe: Recipe) -> list[int]:
    """The models' shuffle seeds as plain integers (None: ``recipe.seed`` for every model)."""
    return [recipe.seed] * n_models if seeds is None else [int(s) for s in seeds]


def restore_checkpoint(
    path: str | Path,
    engine: Engine,
    runs: list[ModelRun],
    recipe: Recipe,
    seeds: Sequence[int] | None = None,
) -> tuple[int, float]:
    """Put the state at ``path`` into ``engine`` and ``runs``; return the epoch reached and
    the seconds spent. ``seeds``: each model's shuffle seed in the run resumed (None:
    ``recipe.seed`` for every model). InputError if the file is not HDF5 or was written under
    another recipe or other seeds."""
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise InputError(f"{path}: corrupt checkpoint ({error}); delete it to start over") from None
    with f:
        if f.attrs["recipe"] != _recipe_key(recipe):
            raise InputError(
                f"{path}: checkpoint was written with other settings; delete it to start over"
            )
        seeds = _seeds(seeds, len(runs), recipe)
        # Written before the seeds were recorded: every model shuffled with the recipe's seed.
        n_saved = sum(name.startswith("model") for name in f)
        saved = [int(s) for s in f.attrs.get("seeds", [recipe.seed] * n_saved)]
        if saved != seeds:
            raise InputError(
                f"{path}: checkpoint was written with shuffle seeds {saved}, not {seeds}; "
                "delete it to start over"
            )
        for k, run in enumerate(runs):
            g = f[f"model{k}"]
            engine.set_weights(k, [g[f"weights/{i}"][()] for i in range(len(g["weights"]))])
            engine.set_optimizer_values(
                k, [g[f"optimizer/{i}"][()] for i in range(len(g["optimizer"]))]
            )
            if "best" in g:
                engine.set_best_weights(k, [g[f"best/{i}"][()] for i in range(len(g["best"]))])
            run.schedule = PlateauSchedule(
                float(g.attrs["lr"]), float(g.attrs["plateau_best"]), int(g.attrs["plateau_wait"])
            )
            engine.set_learning_rate(k, run.schedule.lr)
            run.best_loss, run.best_epoch = float(g.attrs["best_loss"]), int(g.attrs["best_epoch"])
            run.history = [
                {"epoch": int(r[0]), "loss": r[1], "accuracy": r[2], "lr": r[3]}
                for r in g["history"][()]
            ]
        return int(f.attrs["epoch"]), float(f.attrs["elapsed"])
