"""Transferability scores against independent computations written out here, and known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from transfer_tsc import transferability as tr

# A small hand-made case: n = 6 target series, Z = 3 source classes, C = 2 target classes.
PROBS = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.6, 0.3, 0.1],
        [0.2, 0.5, 0.3],
        [0.1, 0.1, 0.8],
        [0.3, 0.3, 0.4],
        [0.05, 0.15, 0.8],
    ]
)
LABELS = np.array([0, 0, 1, 1, 0, 1])


# --------------------------------------------------------------------------- references


def leep_by_loops(theta, labels):
    n, n_source = len(theta), len(theta[0])
    n_target = max(labels) + 1
    joint = [[0.0] * n_source for _ in range(n_target)]
    for i in range(n):
        for z in range(n_source):
            joint[labels[i]][z] += theta[i][z] / n
    marginal = [sum(joint[y][z] for y in range(n_target)) for z in range(n_source)]
    total = 0.0
    for i in range(n):
        eep = sum(joint[labels[i]][z] / marginal[z] * theta[i][z] for z in range(n_source))
        total += math.log(eep)
    return total / n


def nce_by_loops(theta, labels):
    n = len(theta)
    predicted = [max(range(len(row)), key=lambda z: row[z]) for row in theta]
    count_yz, count_z = {}, {}
    for y, z in zip(labels, predicted):
        count_yz[(y, z)] = count_yz.get((y, z), 0) + 1
        count_z[z] = count_z.get(z, 0) + 1
    entropy = 0.0
    for (y, z), c in count_yz.items():
        entropy -= c / n * math.log(c / count_z[z])
    return -entropy


def evidence_explicit(f, y, alpha, beta):
    """log p(y | F, alpha, beta) straight from the formula, with explicit D x D matrices."""
    n, d = f.shape
    a = alpha * np.eye(d) + beta * f.T @ f
    m = beta * np.linalg.solve(a, f.T @ y)
    sign, logdet = np.linalg.slogdet(a)
    assert sign > 0
    r = f @ m - y
    return (
        n / 2 * math.log(beta)
        + d / 2 * math.log(alpha)
        - n / 2 * math.log(2 * math.pi)
        - beta / 2 * float(r @ r)
        - alpha / 2 * float(m @ m)
        - logdet / 2
    )


def grid_max(f, y):
    """Brute force: a log-spaced grid over alpha, beta (1e-6..1e6), then two finer grids, each
    around the best point of the one before."""
    best = (-math.inf, 0.0, 0.0)
    centre, half, points = (0.0, 0.0), 6.0, 97
    for _ in range(3):
        for la in np.linspace(centre[0] - half, centre[0] + half, points):
            for lb in np.linspace(centre[1] - half, centre[1] + half, points):
                v = evidence_explicit(f, y, 10.0**la, 10.0**lb)
                if v > best[0]:
                    best = (v, la, lb)
        centre, half, points = (best[1], best[2]), 2 * half / (points - 1), 41
    return best


def ledoit_wolf_by_hand(f):
    n, d = f.shape
    x = f - f.mean(axis=0)
    s = sum(np.outer(row, row) for row in x) / n
    mu = np.trace(s) / d
    delta2 = np.sum((s - mu * np.eye(d)) ** 2)
    b2 = sum(np.sum((np.outer(row, row) - s) ** 2) for row in x) / n**2
    rho = min(b2, delta2) / delta2
    return rho * mu * np.eye(d) + (1 - rho) * s, rho


def hscore_explicit(f, labels, shrink_between=True):
    n = len(f)
    sigma, rho = ledoit_wolf_by_hand(f)
    class_mean = np.array([f[labels == labels[i]].mean(axis=0) for i in range(n)])
    c = class_mean - class_mean.mean(axis=0)
    between = c.T @ c / n
    if shrink_between:
        between = (1 - rho) * between
    return float(np.trace(np.linalg.inv(sigma) @ between))


# --------------------------------------------------------------------------- LEEP and NCE


def test_leep_matches_formula_by_loops():
    expected = leep_by_loops(PROBS.tolist(), LABELS.tolist())
    assert tr.leep(PROBS, LABELS) == pytest.approx(expected, rel=1e-12)
    assert tr.leep(PROBS, LABELS) < 0


def test_nce_matches_formula_by_loops():
    expected = nce_by_loops(PROBS.tolist(), LABELS.tolist())
    assert tr.nce(PROBS, LABELS) == pytest.approx(expected, rel=1e-12)


def test_nce_exact_values():
    # Z determines Y (source classes 0, 1 -> target 0; source class 2 -> target 1): NCE = 0.
    theta = np.eye(3)[[0, 1, 2, 2, 0, 1]]
    assert tr.nce(theta, np.array([0, 0, 1, 1, 0, 0])) == pytest.approx(0.0, abs=1e-15)
    # Independent balanced binary Y and Z: H(Y | Z) = H(Y) = log 2.
    theta = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert tr.nce(theta, np.array([0, 0, 1, 1])) == pytest.approx(-math.log(2), rel=1e-12)


def test_leep_exact_values():
    # One-hot source outputs that determine the label: the EEP is certain, LEEP = 0.
    theta = np.eye(3)[[0, 1, 2, 2, 0, 1]]
    assert tr.leep(theta, np.array([0, 0, 1, 1, 0, 0])) == pytest.approx(0.0, abs=1e-15)
    # Source outputs identical for every series: EEP = the label frequencies, LEEP = -H(Y).
    theta = np.tile([0.2, 0.5, 0.3], (4, 1))
    assert tr.leep(theta, np.array([0, 1, 1, 1])) == pytest.approx(
        0.25 * math.log(0.25) + 0.75 * math.log(0.75), rel=1e-12
    )


def test_label_values_and_source_order_do_not_matter():
    relabelled = np.where(LABELS == 0, 7, 3)
    permuted = PROBS[:, [2, 0, 1]]
    for score in (tr.leep, tr.nce):
        assert score(permuted, relabelled) == pytest.approx(score(PROBS, LABELS), rel=1e-12)


def test_probabilities_that_track_labels_score_higher():
    rng = np.random.default_rng(0)
    n, n_source = 60, 5
    labels = rng.integers(0, 3, n)
    logits = rng.normal(0, 0.5, (n, n_source))
    logits[np.arange(n), labels] += 3.0  # the source class with the target's index wins
    tracking = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    random = rng.dirichlet(np.ones(n_source), n)
    for score in (tr.leep, tr.nce):
        assert score(tracking, labels) > score(random, labels)


# --------------------------------------------------------------------------- LogME


def noise_free_limit(f, y):
    """sup over alpha of the evidence as beta -> infinity, for F of full row rank (n <= D).

    Then p(y) -> N(y; 0, K / alpha) with K = F F^T, maximised at alpha = n / (y^T K^-1 y).
    """
    n = len(y)
    k = f @ f.T
    alpha = n / float(y @ np.linalg.solve(k, y))
    _, logdet = np.linalg.slogdet(k / alpha)
    return -n / 2 * math.log(2 * math.pi) - logdet / 2 - n / 2


def check_against_grid(f, y, interior=True):
    alpha, beta, value = tr.maximize_evidence(f, y)
    if interior:
        # The module's evidence at its own optimum equals the explicit formula there.
        assert value == pytest.approx(evidence_explicit(f, y, alpha, beta), rel=1e-9, abs=1e-9)
    best, _, _ = grid_max(f, y)
    assert value >= best - 1e-9 * abs(best)
    if interior:
        assert value == pytest.approx(best, rel=1e-6, abs=1e-6)
    return alpha, beta, value


def test_logme_fixed_point_reaches_grid_maximum():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(12, 3))
    y = (f @ np.array([0.5, -1.0, 0.2]) + rng.normal(0, 0.7, 12) > 0).astype(float)
    check_against_grid(f, y)


def test_logme_fewer_series_than_features():
    rng = np.random.default_rng(2)
    # n = 8 < D = 10, rank 3 (the SVD keeps 3 directions), one direction follows y: the
    # maximum is interior (alpha about 17, beta about 126).
    y = np.array([1.0, 0, 0, 1, 1, 0, 1, 0])
    g = np.column_stack([y + rng.normal(0, 0.3, 8), rng.normal(size=8), rng.normal(size=8)])
    alpha, beta, _ = check_against_grid(g @ rng.normal(size=(3, 10)), y)
    assert 1 < alpha < 1e3 and 1 < beta < 1e4
    # n = 5 < D = 8 at full row rank: y lies in the span of F and here the supremum is at
    # beta -> infinity, beyond the grid; the fixed point must still reach at least its best.
    f = rng.normal(size=(5, 8))
    y = np.array([0.0, 1, 0, 1, 1])
    f[:, 0] += 2 * y
    _, beta, value = check_against_grid(f, y, interior=False)
    assert beta > 1e6
    assert value == pytest.approx(noise_free_limit(f, y), rel=1e-9)


def test_logme_is_mean_over_classes_of_evidence_over_n():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(9, 2)) + 1.0
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    expected = np.mean([grid_max(f, (labels == k).astype(float))[0] for k in range(3)]) / 9
    assert tr.logme(f, labels) == pytest.approx(expected, rel=1e-5)


def test_logme_zero_projection_limit():
    # F^T y = 0: the maximum is at alpha -> infinity; the limit is returned.
    f = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    alpha, beta, value = tr.maximize_evidence(f, y)
    assert alpha == math.inf and beta == pytest.approx(2.0)
    assert value == pytest.approx(2 * math.log(2) - 2 * math.log(2 * math.pi) - 2, rel=1e-12)
    assert value >= grid_max(f, y)[0] - 1e-9


# --------------------------------------------------------------------------- H-score


def test_ledoit_wolf_matches_hand_computation():
    rng = np.random.default_rng(4)
    f = rng.normal(size=(7, 4)) @ rng.normal(size=(4, 4))
    sigma, rho = tr.ledoit_wolf_covariance(f)
    sigma_hand, rho_hand = ledoit_wolf_by_hand(f)
    assert 0 < rho <= 1
    assert rho == pytest.approx(rho_hand, rel=1e-10)
    np.testing.assert_allclose(sigma, sigma_hand, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shrink_between", [True, False])
def test_hscore_matches_formula_with_explicit_matrices(shrink_between):
    rng = np.random.default_rng(5)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 1, 2])
    f = rng.normal(size=(10, 4)) + labels[:, None] * np.array([1.0, 0.0, -0.5, 0.2])
    assert tr.hscore(f, labels, shrink_between) == pytest.approx(
        hscore_explicit(f, labels, shrink_between), rel=1e-9
    )
    # n < D: the shrinkage keeps cov(F) invertible.
    f = rng.normal(size=(6, 9))
    labels = np.array([0, 1, 0, 1, 0, 1])
    assert tr.hscore(f, labels, shrink_between) == pytest.approx(
        hscore_explicit(f, labels, shrink_between), rel=1e-9
    )


# --------------------------------------------------------------------------- known answers


def test_separating_features_score_higher_than_random():
    rng = np.random.default_rng(6)
    n, d = 45, 8
    labels = np.repeat([0, 1, 2], 15)
    centres = rng.normal(0, 3, (3, d))
    separating = centres[labels] + rng.normal(0, 0.05, (n, d))
    random = rng.normal(0, 3, (n, d))
    for score in (tr.logme, tr.hscore):
        assert score(separating, labels) > score(random, labels)


def test_separating_features_score_higher_than_random_with_fewer_series_than_features():
    # The pipeline's shape: D = 128 GAP outputs (ReLU, >= 0), n = 20 series in 4 classes.
    rng = np.random.default_rng(8)
    labels = np.repeat([0, 1, 2, 3], 5)
    centres = np.abs(rng.normal(0, 1, (4, 128)))
    separating = np.maximum(centres[labels] + rng.normal(0, 0.3, (20, 128)), 0)
    random = np.abs(rng.normal(0, 1, (20, 128)))
    for score in (tr.logme, tr.hscore):
        assert score(separating, labels) > score(random, labels)


def test_scores_returns_all_four():
    rng = np.random.default_rng(7)
    labels = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    features = rng.normal(size=(8, 128)).astype(np.float32)  # GAP outputs, n < D
    logits = rng.normal(size=(8, 4))
    probs = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)
    result = tr.scores(probs, features, labels)
    assert tuple(result) == tr.SCORES
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.values())
    assert result["leep"] == pytest.approx(tr.leep(probs.astype(np.float64), labels), rel=1e-6)
    assert result["nce"] <= 0 and result["leep"] <= 0 and result["hscore"] >= 0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tr.leep(PROBS * 2, LABELS), "not summing to 1"),
        (lambda: tr.nce(np.log(PROBS), LABELS), "negative"),
        (lambda: tr.leep(PROBS, LABELS[:5]), "label count mismatch"),
        (lambda: tr.nce(PROBS, np.zeros(6, dtype=int)), "fewer than 2 classes"),
        (lambda: tr.leep(PROBS[0], LABELS), "n x Z"),
        (lambda: tr.leep(PROBS, LABELS + 0.5), "integers"),
        (lambda: tr.leep(PROBS, LABELS.astype(str)), "integers"),
        (lambda: tr.logme(np.ones(6), LABELS), "n x D"),
        (lambda: tr.logme(np.full((6, 2), np.nan), LABELS), "NaN"),
        (lambda: tr.hscore(np.ones((6, 3)), LABELS), "no variance"),
        (lambda: tr.hscore(np.ones((5, 3)), LABELS), "label count mismatch"),
        (lambda: tr.scores(PROBS, np.ones((5, 3)), LABELS), "same target series"),
        (lambda: tr.maximize_evidence(np.ones((6, 3)), np.zeros(6)), "all zeros"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_input_is_a_pipeline_input_error():
    from transfer_tsc.errors import InputError

    with pytest.raises(InputError):
        tr.leep(PROBS, LABELS[:5])
