"""scikit-learn's common checks for 2-D estimators, facekit's for pair estimators."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from facekit.utils.discovery import all_estimators
from facekit.utils.estimator_checks import parametrize_with_pair_checks

# Small, fast settings so the common checks run in seconds.
INIT_PARAMS = {
    "EigenfaceTransformer": {"n_components": 3},
    "DistinctRowPCA": {"n_components": 1, "random_state": 0},
    "PairTransformer": {},
    "FaceDetector": {},
    "FisherVectorEncoder": {"n_components": 2, "max_iter": 20, "random_state": 0},
}

# {estimator name: {check name: reason}}: checks that cannot apply.
EXPECTED_FAILED_CHECKS = {}


def _instances():
    from sklearn.decomposition import PCA

    out = []
    for name, cls in all_estimators():
        if name == "PairTransformer":
            out.append(cls(PCA(n_components=2)))
        elif name == "ViewPoolingTransformer":
            # DistinctRowPCA takes sample_weight, so the checks of its routing
            # run too (PCA with ViewPoolingTransformer: tests/features)
            from facekit.features import DistinctRowPCA

            out.append(cls(DistinctRowPCA(1, random_state=0), n_views=1))
        elif name in ("FaceDetector", "FaceAligner", "FaceCropper"):
            # take photos of any size or file paths, not (n_samples,
            # n_features) matrices: tested in tests/detection and
            # tests/test_face_model.py
            continue
        else:
            out.append(cls(**INIT_PARAMS.get(name, {})))
    return out


def _is_pair_estimator(est):
    return est.__sklearn_tags__().input_tags.three_d_array


TWO_D = [e for e in _instances() if not _is_pair_estimator(e)]
PAIR = [e for e in _instances() if _is_pair_estimator(e)]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(TWO_D, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@parametrize_with_pair_checks(PAIR)
def test_pair_estimator(estimator, check):
    check()


def test_discovery_finds_core_estimators():
    names = {type(e).__name__ for e in TWO_D + PAIR}
    assert {"ThresholdVerifier", "LogisticVerifier", "PairTransformer"} <= names


@pytest.mark.parametrize("name", ["ThresholdVerifier", "LogisticVerifier"])
def test_pair_estimators_are_tagged_3d(name):
    cls = dict(all_estimators())[name]
    tags = cls().__sklearn_tags__()
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
