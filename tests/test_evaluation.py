"""facekit.evaluation and the moved names of facekit.metrics: old imports."""

import facekit.evaluation
import facekit.metrics
import facekit.model_selection


def test_old_import_paths_give_the_same_objects():
    for name in facekit.evaluation.__all__:
        new = (
            facekit.model_selection
            if name in facekit.model_selection.__all__
            else facekit.metrics
        )
        assert getattr(facekit.evaluation, name) is getattr(new, name)
    from facekit.metrics import LFWFoldSplit, evaluate_protocol

    assert LFWFoldSplit is facekit.model_selection.LFWFoldSplit
    assert evaluate_protocol is facekit.model_selection.evaluate_protocol
