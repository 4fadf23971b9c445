"""(b) each modality alone is informative but not sufficient; fused accuracy >= 0.9."""

import pytest

from avrobust.evaluation import evaluate_model


@pytest.mark.slow
def test_unimodal_informative_but_not_sufficient(trained):
    result = evaluate_model(trained["model"], trained["test"])
    assert result["n"] == 400
    assert 0.5 <= result["audio_only_accuracy"] <= 0.85, result
    assert 0.5 <= result["visual_only_accuracy"] <= 0.85, result
    assert result["clean_accuracy"] >= 0.90, result
    # the fused model is better than either modality alone
    assert result["clean_accuracy"] > max(result["audio_only_accuracy"], result["visual_only_accuracy"]) + 0.1
