"""The training recipe of the paper (Table I) and of the FCN's original code (Wang et al. 2017).

Adam (learning rate 1e-3, beta 0.9 / 0.999), categorical cross-entropy, mini-batches of 16,
the learning rate multiplied by 0.5 when the epoch's train loss has not improved for 50 epochs
(down to 1e-4), and the model kept is the one with the lowest train loss. The values a study
sets are config keys (``config.schema.yaml`` holds their defaults; ``settings.recipe`` builds a
Recipe from a validated config); the few the paper fixes and no key sets are this module's.

Two rules of the recipe live here: the batch size (``Recipe.batch_size_for``) and the
learning-rate schedule (``PlateauSchedule``, Keras' ReduceLROnPlateau).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# How often training logs a progress line and writes a checkpoint: no result depends on them
# (a resumed run continues exactly where it stopped), so a rule's params leave them out and
# changing them re-runs nothing.
CADENCE_FIELDS = ("progress_every", "checkpoint_every")


@dataclass(frozen=True)
class Recipe:
    """Training hyper-parameters. The fields without a value here are config keys of the same
    name (``<stage>.epochs``, ``training.*``, ``seed``); those with one have no config key."""

    epochs: int
    batch_size: int
    batch_size_cap_tenth: bool
    learning_rate: float
    lr_factor: float
    lr_patience: int
    min_lr: float
    seed: int
    progress_every: int
    checkpoint_every: int
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7  # Keras' Adam default
    lr_min_delta: float = 1e-4  # Keras' ReduceLROnPlateau default

    def batch_size_for(self, n_train: int) -> int:
        """``batch_size``, or min(batch_size, n_train // 10) (at least 1) when the cap of the
        FCN's original code is on."""
        if self.batch_size_cap_tenth:
            return max(1, min(self.batch_size, n_train // 10))
        return self.batch_size


@dataclass
class PlateauSchedule:
    """Keras' ReduceLROnPlateau on the train loss (mode min, cooldown 0): the rate is multiplied
    by ``lr_factor`` (floored at ``min_lr``) once the loss has not fallen below ``best -
    lr_min_delta`` for ``lr_patience`` epochs."""

    lr: float
    best: float = math.inf
    wait: int = 0

    def update(self, loss: float, recipe: Recipe) -> float:
        """Record one epoch's train loss; return the learning rate of the next epoch."""
        if loss < self.best - recipe.lr_min_delta:
            self.best, self.wait = loss, 0
        else:
            self.wait += 1
            if self.wait >= recipe.lr_patience and self.lr > recipe.min_lr:
                self.lr = max(self.lr * recipe.lr_factor, recipe.min_lr)
                self.wait = 0
        return self.lr
