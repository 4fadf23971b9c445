"""Data properties: (b) each modality alone is informative but not sufficient; fused accuracy >= 0.9;
every timing ``synth`` accepts trains."""

import math
import tempfile

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from avrobust.data import load_dataset
from avrobust.defences import TrainConfig, train
from avrobust.errors import ConfigError
from avrobust.evaluation import evaluate_classifier
from avrobust.models import create_model, list_models
from avrobust.seeding import seed_everything


@pytest.mark.slow
def test_unimodal_informative_but_not_sufficient(trained):
    """A model trained on ``synth`` uses both modalities: each alone is informative but not sufficient.

    By construction a perfect unimodal classifier reaches about 0.71 and a fused one 0.98 (see
    :mod:`avrobust.data.synthetic`). Measured on the fixture model (alexnet-sum-vgg, 12 epochs) over
    fixture seeds 0-7, 400 test clips: clean 0.89-0.98 (mean 0.944, sd 0.028), audio-only 0.70-0.75
    (0.724, 0.016), visual-only 0.55-0.77 (0.663, 0.068), fused minus the better modality 0.15-0.25
    (0.212, 0.032). Each bound below lies at least 3 sd from the mean.
    """
    result = evaluate_classifier(trained["model"], trained["test"])
    assert result["n"] == 400
    assert 0.45 <= result["audio_only_accuracy"] <= 0.9, result
    assert 0.45 <= result["visual_only_accuracy"] <= 0.9, result
    assert result["clean_accuracy"] >= 0.85, result
    assert result["clean_accuracy"] > max(result["audio_only_accuracy"], result["visual_only_accuracy"]) + 0.1


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.integers(1, 12), sample_rate=st.sampled_from([1000, 4000, 8000, 11025, 16000, 22050, 44100]),
       seconds=st.floats(0.05, 1.5), model=st.sampled_from(list_models()))
@pytest.mark.slow
def test_every_synth_timing_trains_one_step_of_every_zoo_model(frames, sample_rate, seconds, model):
    """Any frame count, sample rate and clip length that ``synth`` accepts gives clips the zoo trains on
    (segments of any length, e.g. 1333 samples at T = 6, 8 kHz, 1 s)."""
    spec = (f"synth:classes=3,clips_per_class=2,eval_clips_per_class=1,size=16,frames={frames},"
            f"sample_rate={sample_rate},seconds={seconds:.3f}")
    try:
        train_set = load_dataset(spec, "train")
    except ConfigError as err:  # synth's own bounds (e.g. fewer than 64 samples per frame)
        assume("64 audio samples" not in str(err))
        raise
    seed_everything(0)
    net = create_model(model, train_set.num_classes, train_set.sample_rate)
    with tempfile.TemporaryDirectory() as run_dir:
        summary = train(net, train_set, None, TrainConfig(epochs=1, batch_size=6), run_dir, show_progress=False)
    assert summary["backward_passes"] == 6 and all(math.isfinite(h["loss"]) for h in summary["history"])
