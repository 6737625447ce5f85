"""Model-based transferability scores: how well a source model suits a target, without fine-tuning.

A transferability score looks at a *pre-trained source model* applied once (a forward pass, no
training) to the *target* training set and returns one number that should rank source models by
how well they would transfer to that target. Two kinds of model output are used:

* ``probabilities`` (n x Z): the source model's softmax outputs ``theta(x_i)`` over its own Z
  source classes, one row per target series (rows sum to 1). Used by LEEP and NCE.
* ``features`` (n x D): the source model's penultimate representation of each target series;
  for the FCN this is the global-average-pooling output, D = 128. Used by LogME and H-score.

``labels`` (n) are the target classes, integers. The classes are the distinct values present in
``labels`` (so labels 0..C-1 with every class present is the usual case); at least two are
needed. Everything is computed in float64.

**Higher is better for all four scores** (LEEP and NCE are <= 0, H-score >= 0, LogME has no fixed
sign; only comparisons between source models for the same target are meaningful).

Scores and references:

* ``leep`` -- C. V. Nguyen, T. Hassner, M. Seeger, C. Archambeau. "LEEP: A New Measure to Evaluate
  Transferability of Learned Representations." Proceedings of the 37th International Conference
  on Machine Learning (ICML 2020), PMLR 119, pp. 7294-7305.
* ``nce`` -- A. T. Tran, C. V. Nguyen, T. Hassner. "Transferability and Hardness of Supervised
  Classification Tasks." IEEE/CVF International Conference on Computer Vision (ICCV 2019),
  pp. 1395-1405.
* ``logme`` -- K. You, Y. Liu, J. Wang, M. Long. "LogME: Practical Assessment of Pre-trained
  Models for Transfer Learning." Proceedings of the 38th International Conference on Machine
  Learning (ICML 2021), PMLR 139, pp. 12133-12143. (The evidence approximation it maximises is
  the one of C. M. Bishop, "Pattern Recognition and Machine Learning", Springer 2006, section 3.5.)
* ``hscore`` -- Y. Bao, Y. Li, S.-L. Huang, L. Zhang, L. Zheng, A. Zamir, L. Guibas. "An
  Information-Theoretic Approach to Transferability in Task Transfer Learning." IEEE
  International Conference on Image Processing (ICIP 2019), pp. 2309-2313. The covariance of the
  features is the Ledoit-Wolf shrinkage estimate: O. Ledoit, M. Wolf. "A well-conditioned
  estimator for large-dimensional covariance matrices." Journal of Multivariate Analysis 88(2),
  pp. 365-411, 2004; the shrinkage-based H-score (the default here) is that of S. Ibrahim,
  N. Ponomareva, R. Mazumder. "Newer is not always better: Rethinking transferability metrics, their
  peculiarities, stability and performance." ECML PKDD 2022.

``scores`` returns all four in a dict keyed by ``SCORES``. This module depends on numpy only
(and ``.errors`` for the exception type): the forward pass that produces the arrays is elsewhere.
"""

from __future__ import annotations

import math

import numpy as np

from transfer_tsc.errors import InputError

SCORES = ("leep", "nce", "logme", "hscore")
# The columns of results/<network>/transferability/{target}.csv (transfer.score_sources): seconds
# is the pair's forward pass and scores.
TABLE_COLUMNS = ("target", "source", *SCORES, "seconds")

#: How far a row of ``probabilities`` may be from summing to 1 (float32 softmax rounding).
ROW_SUM_TOLERANCE = 1e-4

#: LogME fixed-point iteration: relative change of alpha and beta that counts as converged,
#: and the most iterations run (each is O(min(n, D)) after one SVD, so the bound is cheap).
LOGME_TOLERANCE = 1e-10
LOGME_MAX_ITERATIONS = 10_000


class ScoreInputError(InputError, ValueError):
    """Arrays that a transferability score cannot use; the message says which and why.

    A ``ValueError`` for callers of this module and an ``InputError`` for the pipeline's rule
    scripts (reported as one line).
    """


# --------------------------------------------------------------------------- validation


def _labels(labels: np.ndarray, n: int | None = None) -> tuple[np.ndarray, int]:
    """Target labels as class indices 0..C-1 (in the order of the distinct values) and C."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ScoreInputError(f"labels must be a 1-D array, got shape {y.shape}")
    if n is not None and y.shape[0] != n:
        raise ScoreInputError(
            f"label count mismatch: {y.shape[0]} labels for {n} rows of model output"
        )
    if y.shape[0] < 2:
        raise ScoreInputError(f"need at least 2 labelled series, got {y.shape[0]}")
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise ScoreInputError(f"labels must be integers, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ScoreInputError("labels must be integers, got non-integer values")
    classes, index = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ScoreInputError(
            f"fewer than 2 classes in labels (only {classes.tolist()}): a score needs at least 2"
        )
    return index.reshape(-1).astype(np.intp), int(classes.size)


def _matrix(values: np.ndarray, name: str, shape: str) -> np.ndarray:
    """``values`` (called ``name``) checked to be a finite ``shape`` array (2-D, at least one
    column), as float64."""
    m = np.asarray(values, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 1:
        raise ScoreInputError(f"{name} must be an {shape} array, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ScoreInputError(f"{name} contain NaN or infinite values")
    return m


def _probabilities(probabilities: np.ndarray) -> np.ndarray:
    """``probabilities`` checked (n x Z, finite, >= 0, rows sum to 1) and renormalised, float64."""
    p = _matrix(probabilities, "probabilities", "n x Z")
    if np.any(p < 0):
        raise ScoreInputError("probabilities contain negative values")
    sums = p.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
    if bad.size:
        raise ScoreInputError(
            f"probabilities: rows not summing to 1 ({bad.size} rows; row {int(bad[0])} sums to "
            f"{sums[bad[0]]:.6g}); pass softmax outputs, not logits"
        )
    return p / sums[:, None]


def _features(features: np.ndarray) -> np.ndarray:
    """``features`` checked (n x D, finite), float64."""
    return _matrix(features, "features", "n x D")


# --------------------------------------------------------------------------- LEEP and NCE


def leep(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Log Expected Empirical Prediction (Nguyen et al., ICML 2020); higher is better, <= 0.

    With ``theta(x_i)_z`` the source model's softmax probability of source class z for target
    series i and ``y_i`` its target label::

        P(y, z)   = (1/n) * sum over i with y_i = y of theta(x_i)_z     (empirical joint)
        P(z)      = sum over y of P(y, z)
        P(y | z)  = P(y, z) / P(z)                                      (0 where P(z) = 0)
        LEEP      = (1/n) * sum_i log( sum_z P(y_i | z) * theta(x_i)_z )

    i.e. the mean log-likelihood of the target labels under the "expected empirical predictor",
    the source model followed by the empirical conditional P(y | z).
    """
    p = _probabilities(probabilities)
    y, n_classes = _labels(labels, p.shape[0])
    n = p.shape[0]
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    joint = onehot.T @ p / n  # C x Z
    marginal = joint.sum(axis=0)  # Z
    conditional = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)
    eep = np.sum(p * conditional[y], axis=1)  # n: sum_z P(y_i | z) theta(x_i)_z, always > 0
    return float(np.mean(np.log(eep)))


def nce(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Negative Conditional Entropy (Tran et al., ICCV 2019); higher is better, <= 0.

    The source model's predicted source class ``z_i = argmax_z theta(x_i)_z`` (first maximum on
    ties) and the target label ``y_i`` give the empirical joint ``P(y, z) = #{i: y_i = y,
    z_i = z} / n`` and ``P(z) = #{i: z_i = z} / n``::

        NCE = -H(Y | Z) = sum over y, z of P(y, z) * log( P(y, z) / P(z) )

    (0 * log 0 = 0). NCE is 0 when the predicted source class determines the target label and
    -H(Y) when the two are independent.
    """
    p = _probabilities(probabilities)
    y, n_classes = _labels(labels, p.shape[0])
    n = p.shape[0]
    z = np.argmax(p, axis=1)
    joint = np.zeros((n_classes, p.shape[1]))
    np.add.at(joint, (y, z), 1.0)
    joint /= n
    marginal = joint.sum(axis=0, keepdims=True)
    present = joint > 0  # then P(z) > 0 too
    conditional = joint[present] / np.broadcast_to(marginal, joint.shape)[present]
    return float(np.sum(joint[present] * np.log(conditional)))


# --------------------------------------------------------------------------- LogME


class _Spectrum:
    """The SVD of the features, F = U diag(sigma) V^T, kept in the form the evidence needs.

    ``s`` = sigma^2, the r non-zero eigenvalues of F^T F (r <= min(n, D)); the other D - r are 0.
    """

    def __init__(self, features: np.ndarray):
        f = features
        self.n, self.d = f.shape
        u, sigma, _ = np.linalg.svd(f, full_matrices=False)
        cutoff = (sigma[0] if sigma.size else 0.0) * max(self.n, self.d) * np.finfo(float).eps
        keep = sigma > cutoff
        self.u = u[:, keep]
        self.s = sigma[keep] ** 2

    def project(self, target: np.ndarray) -> tuple[np.ndarray, float]:
        """``z = U^T y`` (y in the column space of F) and ``||y - U z||^2`` (the rest of y)."""
        z = self.u.T @ target
        outside = target - self.u @ z
        return z, float(outside @ outside)


def _evidence(
    spectrum: _Spectrum, z: np.ndarray, rest: float, alpha: float, beta: float
) -> tuple[float, float, float, float]:
    """Log evidence at (alpha, beta), with gamma, m^T m and ||F m - y||^2 (for the update).

    In the SVD basis, with t_i = alpha + beta s_i:  m^T m = sum beta^2 s_i z_i^2 / t_i^2,
    ||F m - y||^2 = sum (alpha / t_i)^2 z_i^2 + rest,  log|A| = sum log t_i + (D - r) log alpha,
    gamma = sum beta s_i / t_i.
    """
    s = spectrum.s
    n, d = spectrum.n, spectrum.d
    t = alpha + beta * s
    mm = float(np.sum(beta**2 * s * z**2 / t**2))
    res = float(np.sum((alpha / t) ** 2 * z**2)) + rest
    gamma = float(np.sum(beta * s / t))
    log_det_a = float(np.sum(np.log(t))) + (d - s.size) * math.log(alpha)
    value = (
        0.5 * n * math.log(beta)
        + 0.5 * d * math.log(alpha)
        - 0.5 * n * math.log(2 * math.pi)
        - 0.5 * beta * res
        - 0.5 * alpha * mm
        - 0.5 * log_det_a
    )
    return value, gamma, mm, res


def maximize_evidence(features: np.ndarray, target: np.ndarray) -> tuple[float, float, float]:
    """Maximise the evidence of one Bayesian linear regression over alpha and beta.

    The model (You et al. 2021, section 4; Bishop 2006, section 3.5): ``w ~ N(0, alpha^-1 I_D)``,
    ``y_i ~ N(w^T f_i, beta^-1)`` for the rows f_i of F (n x D) and the target vector y (n). Its
    log evidence ``L(alpha, beta) = log p(y | F, alpha, beta)`` is::

        A = alpha I + beta F^T F,   m = beta A^-1 F^T y
        L = n/2 log beta + D/2 log alpha - n/2 log(2 pi)
            - beta/2 ||F m - y||^2 - alpha/2 m^T m - 1/2 log|A|

    maximised by the paper's fixed-point iteration (its Algorithm 1), starting at alpha = beta =
    1, with s_i the eigenvalues of F^T F::

        gamma = sum_i beta s_i / (alpha + beta s_i)
        alpha <- gamma / m^T m,   beta <- (n - gamma) / ||F m - y||^2

    until alpha and beta change by less than ``LOGME_TOLERANCE`` (relative) or the evidence stops
    changing, at most ``LOGME_MAX_ITERATIONS`` times. The eigenvalues come from one SVD of F (not
    the D x D F^T F), so n < D costs O(n^2 D) once and O(n) per iteration. When n <= D the
    supremum can lie at beta -> infinity (y exactly in the span of F); the iteration then stops
    when the evidence no longer changes, at a value within rounding of that supremum. When
    F^T y = 0 the maximum is at alpha -> infinity (m = 0) and its limit
    ``n/2 log(n / ||y||^2) - n/2 log(2 pi) - n/2`` is returned with alpha = inf.

    Returns ``(alpha, beta, L(alpha, beta))``, the best point seen.
    """
    f = _features(features)
    y = np.asarray(target, dtype=np.float64)
    if y.ndim != 1 or y.shape[0] != f.shape[0]:
        raise ScoreInputError(
            f"target must be a vector of {f.shape[0]} values (one per row of features), "
            f"got shape {y.shape}"
        )
    if not np.all(np.isfinite(y)):
        raise ScoreInputError("target contains NaN or infinite values")
    if not np.any(y):
        raise ScoreInputError("target is all zeros: its evidence has no maximum")
    return _maximize(_Spectrum(f), y)


def _maximize(spectrum: _Spectrum, y: np.ndarray) -> tuple[float, float, float]:
    """``maximize_evidence`` on the SVD of F, computed once for all the targets of one F."""
    yy = float(y @ y)
    n = spectrum.n
    z, rest = spectrum.project(y)
    # F^T y = V diag(sigma) z; zero when z vanishes on the kept singular directions.
    if spectrum.s.size == 0 or float(np.sum(spectrum.s * z**2)) <= (
        1e-24 * float(spectrum.s.max()) * yy
    ):
        beta = n / yy
        value = 0.5 * n * math.log(beta) - 0.5 * n * math.log(2 * math.pi) - 0.5 * n
        return math.inf, beta, value

    alpha, beta = 1.0, 1.0
    value, gamma, mm, res = _evidence(spectrum, z, rest, alpha, beta)
    best = (alpha, beta, value)
    for _ in range(LOGME_MAX_ITERATIONS):
        new_alpha = gamma / mm if mm > 0 else math.inf
        new_beta = (n - gamma) / res if res > 0 else math.inf
        if not (0 < new_alpha < math.inf and 0 < new_beta < math.inf):
            break  # a parameter ran off to infinity: the best finite point seen is the answer
        new_value, gamma, mm, res = _evidence(spectrum, z, rest, new_alpha, new_beta)
        if not math.isfinite(new_value):
            break
        if new_value > best[2]:
            best = (new_alpha, new_beta, new_value)
        converged = (
            abs(new_alpha - alpha) <= LOGME_TOLERANCE * alpha
            and abs(new_beta - beta) <= LOGME_TOLERANCE * beta
        ) or abs(new_value - value) <= 1e-14 * max(1.0, abs(new_value))
        alpha, beta, value = new_alpha, new_beta, new_value
        if converged:
            break
    return best


def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """Logarithm of Maximum Evidence (You et al., ICML 2021); higher is better.

    ``features`` F (n x D) are the source model's penultimate outputs (the FCN's global average
    pooling, D = 128). For each target class k, ``y_k`` is the 0/1 indicator column of class k
    and ``L_k* = max over alpha, beta of L_k(alpha, beta)`` the maximised log evidence of a
    Bayesian linear regression of y_k on F (see ``maximize_evidence`` for L and the fixed-point
    iteration)::

        LogME = (1/C) * sum_k L_k* / n

    F is used as given (no centring, no bias column), as in the paper.
    """
    f = _features(features)
    y, n_classes = _labels(labels, f.shape[0])
    n = f.shape[0]
    spectrum = _Spectrum(f)
    total = 0.0
    for k in range(n_classes):
        total += _maximize(spectrum, (y == k).astype(np.float64))[2]
    return float(total / (n_classes * n))


# --------------------------------------------------------------------------- H-score


def ledoit_wolf_covariance(features: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf (2004) shrinkage covariance of the rows of ``features`` and its intensity.

    With X the centred features (n x D), S = X^T X / n the empirical covariance,
    mu = tr(S) / D and ||.|| the Frobenius norm::

        delta^2 = ||S - mu I||^2
        b^2     = min( delta^2, (1/n^2) * sum_k ||x_k x_k^T - S||^2 )
                = min( delta^2, (sum_k ||x_k||^4 - n ||S||^2) / n^2 )
        rho     = b^2 / delta^2                 (0 when delta^2 = 0)
        Sigma   = rho * mu * I + (1 - rho) * S

    the convex combination with the scaled identity that minimises the estimated expected
    Frobenius loss (the paper's Lemma 3.2 / Theorem 3.3 estimator; the same as
    ``sklearn.covariance.ledoit_wolf`` with ``assume_centered=False``). Returns (Sigma, rho).
    """
    f = _features(features)
    n, d = f.shape
    x = f - f.mean(axis=0)
    s = x.T @ x / n
    mu = float(np.trace(s)) / d
    delta2 = float(np.sum((s - mu * np.eye(d)) ** 2))
    b2 = (float(np.sum(np.sum(x**2, axis=1) ** 2)) - n * float(np.sum(s**2))) / n**2
    b2 = min(max(b2, 0.0), delta2)
    rho = b2 / delta2 if delta2 > 0 else 0.0
    return rho * mu * np.eye(d) + (1.0 - rho) * s, rho


def hscore(features: np.ndarray, labels: np.ndarray, shrink_between: bool = True) -> float:
    """H-score (Bao et al., ICIP 2019) with a Ledoit-Wolf covariance; higher is better, >= 0.

    With F (n x D) the source model's penultimate outputs and g(y) = E[F | y] the mean feature
    of target class y, Bao et al.'s score is::

        H = tr( cov(F)^-1 cov(E[F | y]) )
        cov(E[F | y]) = sum_y (n_y / n) (g(y) - mean F)(g(y) - mean F)^T

    (the covariance, over the n series, of each series' class mean). The empirical cov(F) is
    singular when n <= D (the FCN's D = 128 exceeds many UCR training sets) and badly
    conditioned otherwise, so it is replaced by the Ledoit-Wolf shrinkage estimate
    ``Sigma = rho mu I + (1 - rho) S`` (``ledoit_wolf_covariance``; both covariances
    normalised by n). By default (``shrink_between=True``) the score is the shrinkage-based
    H-score of Ibrahim et al. (2022), which shrinks the between-class covariance by the same
    factor, since it is part of cov(F)::

        H = tr( Sigma^-1 (1 - rho) cov(E[F | y]) )

    Without that factor (``shrink_between=False``, the issue's formula taken literally) random
    features with n < D score *higher* than features that separate the classes (n = 20, D = 128,
    4 classes of 5: about 12 against 3.6; with the factor about 1.2 against 3.0), because rho is
    near 1 for random features and the trace then grows like D (C - 1) / n; the factor (1 - rho)
    removes that.

    The trace is taken through the eigendecomposition of the symmetric Sigma (a pseudo-inverse:
    eigenvalues below D * eps * the largest are dropped), not an explicit inverse. Features with
    no variance at all are refused.
    """
    f = _features(features)
    y, n_classes = _labels(labels, f.shape[0])
    n = f.shape[0]
    sigma, rho = ledoit_wolf_covariance(f)
    centred = f - f.mean(axis=0)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    sums = np.zeros((n_classes, f.shape[1]))
    np.add.at(sums, y, centred)
    means = sums / counts[:, None]  # g(y) - mean F
    between = (means * (counts / n)[:, None]).T @ means
    if shrink_between:
        between *= 1.0 - rho
    eigval, eigvec = np.linalg.eigh(sigma)
    top = float(eigval[-1])
    if top <= 0:
        raise ScoreInputError("features have no variance (every series has the same features)")
    keep = eigval > top * f.shape[1] * np.finfo(float).eps
    v = eigvec[:, keep]
    return float(np.sum(np.einsum("ij,ik,kj->j", v, between, v) / eigval[keep]))


# --------------------------------------------------------------------------- all four


def scores(probabilities: np.ndarray, features: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """All four scores of one (source model, target dataset) pair, keyed by ``SCORES``.

    ``probabilities`` (n x Z) and ``features`` (n x D) are the source model's softmax outputs and
    penultimate (global-average-pooling) outputs for the same n target series, ``labels`` their
    n target classes.
    """
    p = _probabilities(probabilities)
    f = _features(features)
    if p.shape[0] != f.shape[0]:
        raise ScoreInputError(
            f"probabilities have {p.shape[0]} rows but features have {f.shape[0]}: "
            "they must come from the same target series"
        )
    return {
        "leep": leep(p, labels),
        "nce": nce(p, labels),
        "logme": logme(f, labels),
        "hscore": hscore(f, labels),
    }
