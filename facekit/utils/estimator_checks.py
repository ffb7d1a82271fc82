"""A check suite for pair estimators (input ``(n_pairs, 2, n_features)``).

scikit-learn's common checks only feed 2-D arrays, so estimators tagged with
``three_d_array=True`` are skipped there; :func:`parametrize_with_pair_checks`
covers the same ground for them.
"""

import pickle
import re
from functools import partial

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

__all__ = ["make_check_pairs", "pair_checks", "parametrize_with_pair_checks"]


def make_check_pairs(n_pairs=40, n_features=6, random_state=0):
    """Separable toy pairs: same pairs are near copies, different pairs random.

    Parameters
    ----------
    n_pairs : int, default=40
        Number of pairs (half same, half different).
    n_features : int, default=6
        Features per face (non-negative, so every metric applies).
    random_state : int, default=0
        Seed.

    Returns
    -------
    pairs : ndarray of shape (n_pairs, 2, n_features)
        The pairs.
    y : ndarray of shape (n_pairs,)
        1 = same, 0 = different, alternating.

    Examples
    --------
    >>> from facekit.utils.estimator_checks import make_check_pairs
    >>> pairs, y = make_check_pairs(10, 3)
    >>> pairs.shape, y.tolist()
    ((10, 2, 3), [1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    """
    rng = check_random_state(random_state)
    a = rng.rand(n_pairs, n_features) + 0.1
    b = rng.rand(n_pairs, n_features) + 0.1
    y = np.tile([1, 0], n_pairs // 2 + 1)[:n_pairs]
    b[y == 1] = a[y == 1] * (1 + 0.02 * rng.rand(int(y.sum()), n_features))
    return np.stack([a, b], axis=1), y


def _param_repr(est):
    # objects without a repr of their own (skorch's default callbacks, deep
    # parameters of a SiameseEmbedder) differ by address only after a clone
    return {
        k: re.sub(r" at 0x[0-9a-fA-F]+>", ">", repr(v))
        for k, v in est.get_params(deep=True).items()
    }


def check_clone(name, est, pairs, y):
    c = clone(est)
    assert type(c) is type(est)
    assert _param_repr(c) == _param_repr(est), f"{name}: clone changed params"


def check_fit_returns_self(name, est, pairs, y):
    est = clone(est)
    assert est.fit(pairs, y) is est, f"{name}: fit must return self"


def check_no_attributes_set_in_init(name, est, pairs, y):
    est = clone(est)
    params = est.get_params(deep=False)
    public = {k for k in vars(est) if not k.startswith("_")}
    extra = public - set(params)
    assert not extra, f"{name}: __init__ sets non-parameter attributes {extra}"
    fitted = [k for k in vars(est) if k.endswith("_") and not k.startswith("_")]
    assert not fitted, f"{name}: fitted attributes set before fit: {fitted}"


def check_not_fitted_error(name, est, pairs, y):
    est = clone(est)
    for method in ("predict", "decision_function", "transform"):
        if hasattr(est, method):
            try:
                getattr(est, method)(pairs)
            except NotFittedError:
                continue
            raise AssertionError(
                f"{name}.{method} before fit must raise NotFittedError"
            )


def check_params_unchanged_by_fit(name, est, pairs, y):
    est = clone(est)
    before = _param_repr(est)
    est.fit(pairs, y)
    assert _param_repr(est) == before, f"{name}: fit changed its parameters"


def check_pickle_round_trip(name, est, pairs, y):
    est = clone(est).fit(pairs, y)
    est2 = pickle.loads(pickle.dumps(est))
    for method in ("predict", "decision_function", "transform"):
        if hasattr(est, method):
            np.testing.assert_allclose(
                getattr(est, method)(pairs),
                getattr(est2, method)(pairs),
                err_msg=f"{name}.{method} differs after pickling",
            )


def check_list_input(name, est, pairs, y):
    a = clone(est).fit(pairs, y)
    b = clone(est).fit(pairs.tolist(), y.tolist())
    method = "predict" if hasattr(a, "predict") else "transform"
    np.testing.assert_allclose(
        getattr(a, method)(pairs),
        getattr(b, method)(pairs.tolist()),
        err_msg=f"{name}: list input gives other results",
    )


def check_pipeline_equals_bare(name, est, pairs, y):
    a = clone(est).fit(pairs, y)
    pipe = Pipeline([("est", clone(est))]).fit(pairs, y)
    method = "predict" if hasattr(a, "predict") else "transform"
    np.testing.assert_allclose(getattr(a, method)(pairs), getattr(pipe, method)(pairs))


def check_grid_search_smoke(name, est, pairs, y):
    params = est.get_params(deep=False)
    grid = {}
    for key, values in (
        ("threshold", ["auto", "eer"]),
        ("C", [0.1, 1.0]),
        ("metric", ["euclidean", "cosine"]),
    ):
        if key in params:
            grid[key] = values
            break
    if not grid or not hasattr(est, "predict"):
        return
    search = GridSearchCV(clone(est), grid, cv=2, error_score="raise").fit(pairs, y)
    assert search.best_params_.keys() == grid.keys()


def check_predictions_in_classes(name, est, pairs, y):
    if not hasattr(est, "predict"):
        return
    est = clone(est).fit(pairs, y)
    pred = est.predict(pairs)
    assert pred.shape == (pairs.shape[0],)
    assert set(np.unique(pred)) <= set(est.classes_), (
        f"{name}: predict outside classes_"
    )
    assert list(est.classes_) == [0, 1]


def check_wrong_shape_errors(name, est, pairs, y):
    est = clone(est).fit(pairs, y)
    method = "predict" if hasattr(est, "predict") else "transform"
    bad = pairs[:, :, :-1]
    try:
        getattr(est, method)(bad)
    except ValueError as exc:
        assert "features" in str(exc), f"{name}: unclear error: {exc}"
    else:
        raise AssertionError(f"{name}: wrong feature count must raise ValueError")
    nan = pairs.copy()
    nan[0, 0, 0] = np.nan
    try:
        clone(est).fit(nan, y)
    except ValueError:
        pass
    else:
        raise AssertionError(f"{name}: NaN in pairs must raise ValueError")


_CHECKS = [
    check_clone,
    check_fit_returns_self,
    check_no_attributes_set_in_init,
    check_not_fitted_error,
    check_params_unchanged_by_fit,
    check_pickle_round_trip,
    check_list_input,
    check_pipeline_equals_bare,
    check_grid_search_smoke,
    check_predictions_in_classes,
    check_wrong_shape_errors,
]


def pair_checks(estimator):
    """Yield the pair checks for one estimator as callables.

    Parameters
    ----------
    estimator : estimator instance
        A pair estimator.

    Yields
    ------
    check : callable
        A callable taking no argument that raises on failure.
    """
    pairs, y = make_check_pairs()
    name = type(estimator).__name__
    for check in _CHECKS:
        yield partial(check, name, estimator, pairs, y)


def parametrize_with_pair_checks(estimators):
    """Pytest parametrisation over ``(estimator, check)`` for pair estimators.

    Parameters
    ----------
    estimators : list of estimator instances
        Pair estimators to check.

    Returns
    -------
    decorator : callable
        A ``pytest.mark.parametrize`` decorator with arguments
        ``"estimator, check"``.
    """
    import pytest

    items, ids = [], []
    for est in estimators:
        for check in pair_checks(est):
            items.append((est, check))
            ids.append(f"{type(est).__name__}-{check.func.__name__}")
    return pytest.mark.parametrize("estimator, check", items, ids=ids)
