import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from avrobust.errors import ConfigError
from avrobust.models import ModelConfig, create_model, list_models, set_dropout
from avrobust.models.classifier import AVClassifier
from avrobust.models.frontend import LogMel, mel_basis
from tests.conftest import grads_of


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("frames", [8, 2, 1])
def test_every_zoo_model_runs_any_t_and_gradients_reach_both_inputs(make_model, name, frames):
    model = make_model(name, num_classes=5)
    model.eval()
    video = torch.rand(2, frames, 3, 16, 16)
    audio = torch.rand(2, frames * 500) * 2 - 1
    out = model(video, audio)
    assert out.logits.shape == out.audio_logits.shape == out.visual_logits.shape == (2, 5)
    assert out.audio_features.shape[:2] == (2, frames) and out.visual_features.shape[:2] == (2, frames)
    gv, ga = grads_of(model, video, audio)
    assert gv.abs().sum() > 0 and ga.abs().sum() > 0
    assert torch.isfinite(gv).all() and torch.isfinite(ga).all()


@pytest.mark.parametrize("fusion", ["sum", "concat"])
def test_unimodal_logits_sum_to_fused(make_model, fusion):
    model = make_model(f"alexnet-{fusion}-vgg")
    out = model(torch.rand(3, 4, 3, 16, 16), torch.rand(3, 4000) - 0.5)
    torch.testing.assert_close(out.audio_logits + out.visual_logits, out.logits)


def test_concat_unimodal_logits_use_weight_blocks(make_model):
    model = make_model("alexnet-concat-vgg")
    fc = model.fusion.fc
    fa, fv = torch.randn(2, 3, model.audio.out_dim), torch.randn(2, 3, model.visual.out_dim)
    _, la, lv, _, _ = model.fusion(fa, fv)
    da = fa.shape[2]
    torch.testing.assert_close(la, fa.mean(1) @ fc.weight[:, :da].t() + fc.bias / 2)
    torch.testing.assert_close(lv, fv.mean(1) @ fc.weight[:, da:].t() + fc.bias / 2)


def test_visual_features_are_per_frame(make_model):
    """Changing frame t changes only the visual feature of frame t."""
    model = make_model("alexnet-sum-vgg")
    model.eval()
    video = torch.rand(1, 4, 3, 16, 16)
    audio = torch.rand(1, 4000) - 0.5
    base = model(video, audio).visual_features
    video2 = video.clone()
    video2[0, 2] = torch.rand(3, 16, 16)
    changed = (model(video2, audio).visual_features - base).abs().sum(-1)[0]
    assert changed[2] > 0 and torch.all(changed[[0, 1, 3]] == 0)


def test_logmel_frames_are_segment_aligned():
    fe = LogMel(sample_rate=8000, n_fft=256, hop_length=125)
    audio = torch.zeros(1, 8 * 1000)
    assert fe(audio, 8).shape == (1, 1, 64, 40)
    # a click in segment 5 changes only frames near segment 5 (n_fft spans at most 2 segments)
    click = audio.clone()
    click[0, 5 * 1000 + 500] = 0.9
    diff = (fe(click, 8) - fe(audio, 8)).abs().sum(-1)[0, 0]
    touched = torch.nonzero(diff).flatten()
    assert touched.min() >= 5 * 8 - 1 and touched.max() <= 6 * 8


def test_logmel_uses_librosa_slaney_basis():
    basis = mel_basis(8000, 256, 40, 50.0, 4000.0)
    assert basis.shape == (40, 129)
    assert (basis.sum(1) > 0).all()


@settings(max_examples=40, deadline=None)
@given(segment=st.integers(300, 3000), frames=st.integers(3, 9), hop=st.sampled_from([64, 100, 125, 160]))
def test_logmel_is_segment_aligned_for_any_segment_length(segment: int, frames: int, hop: int) -> None:
    """T * k frames, k = round(S / hop); a click in the middle segment touches only the frames whose
    window holds it, and among them the one centred nearest to it (hops below n_fft, so windows overlap)."""
    fe = LogMel(sample_rate=8000, n_fft=256, hop_length=hop)
    k = max(1, round(segment / hop))
    audio = torch.zeros(1, frames * segment)
    assert fe(audio, frames).shape == (1, 1, frames * k, 40)
    t, where = frames // 2, segment // 2
    click = audio.clone()
    click[0, t * segment + where] = 0.9
    touched = set(torch.nonzero((fe(click, frames) - fe(audio, frames)).abs().sum(-1)[0, 0]).flatten().tolist())
    offsets = fe.frame_offsets(segment)
    covering = {i * k + j for i in range(frames) for j, o in enumerate(offsets)
                if 0 <= (t - i) * segment + where - o < 256}
    assert touched <= covering
    nearest = min(range(k), key=lambda j: abs(offsets[j] + 128 - where))
    assert t * k + nearest in touched


def test_logmel_frames_of_a_dividing_hop_are_a_plain_stft() -> None:
    fe = LogMel(sample_rate=8000, n_fft=256, hop_length=125)
    audio = torch.rand(2, 8 * 1000) * 2 - 1
    x = torch.nn.functional.pad(audio[:, None], (65, 66), mode="reflect")[:, 0]
    spec = torch.stft(x, 256, 125, window=torch.hann_window(256), center=False, return_complex=True).abs().square()
    want = ((torch.log(fe.mel @ spec + 1e-4) + 5.0) / 3.0).transpose(1, 2)[:, None]
    torch.testing.assert_close(fe(audio, 8), want, rtol=1e-4, atol=1e-4)


def test_bad_configs_are_rejected():
    with pytest.raises(ConfigError, match="unknown visual encoder 'vit'"):
        AVClassifier(ModelConfig(visual="vit"))
    with pytest.raises(ConfigError, match="unknown fusion 'film'"):
        AVClassifier(ModelConfig(fusion="film"))
    with pytest.raises(ConfigError, match="dropout"):
        AVClassifier(ModelConfig(dropout=1.5))
    with pytest.raises(ConfigError, match="unknown model option"):
        create_model("AsV", 4, colour=1)


def test_set_dropout_changes_every_dropout_layer(make_model):
    model = make_model("resnet-concat-resnet", dropout=0.1)
    set_dropout(model, 0.3)
    ps = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(ps) >= 3 and all(p == 0.3 for p in ps)


def test_normalisation_lives_in_the_model(make_model):
    model = make_model("alexnet-sum-vgg")
    assert "video_mean" in dict(model.named_buffers())
