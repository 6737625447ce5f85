"""scikit-learn's estimator contract (``parametrize_with_checks``) on ``TransferClassifier``,
trained from scratch with the smallest settings (1 epoch of real Keras training per fit; about 55
checks, most of which fit the estimator on small tabular data read as series of 1 to 10 time
points).

Every check applies and passes: ``EXPECTED_FAILED_CHECKS`` is empty. The one check reported as
skipped, ``check_array_api_input``, is skipped by scikit-learn itself: it runs only with
``SCIPY_ARRAY_API=1`` for estimators that claim array API support, which this one (a Keras model
fed numpy arrays) does not."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from transfer_tsc import TransferClassifier

TINY = TransferClassifier(source=None, n_epochs=1, random_state=0, znormalise=False)

# Checks that cannot apply to this estimator, each with its reason: none.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@parametrize_with_checks([TINY], expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
def test_scikit_learn_estimator_contract(estimator, check):
    check(estimator)
