"""MMCert (frame-subsampling certification) is sound: within a clip's certified counts, no replacement of
frames and audio segments by those of a clip of another class changes the certified classifier's vote."""

from __future__ import annotations

import torch
from torch import nn

import avrobust
from avrobust.certification import certify_model, create_certifier
from avrobust.certification.subsampling import kept_share
from avrobust.data import AVDataset

T, H, S, K = 8, 4, 16, 3


class Templates(nn.Module):
    """Logits: the sum over frames and segments of their match with each class's template (a black frame
    or a silent segment adds nothing)."""

    def __init__(self, w_v: torch.Tensor, w_a: torch.Tensor) -> None:
        super().__init__()
        self.w_v, self.w_a = nn.Parameter(w_v), nn.Parameter(w_a)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        flat = video.flatten(2)
        frames = ((flat - 0.5) @ self.w_v) * (flat.abs().sum(-1, keepdim=True) > 0)  # [N, T, K]; black: 0
        segments = audio.view(audio.shape[0], T, S) @ self.w_a
        return frames.sum(1) + segments.sum(1)


def setup(n: int = 12, noise: float = 4.0) -> tuple[nn.Module, AVDataset]:
    g = torch.Generator().manual_seed(0)
    w_v, w_a = torch.randn(3 * H * H, K, generator=g), torch.randn(S, K, generator=g)
    labels = torch.arange(n) % K
    video = (0.5 + 0.1 * w_v.T[labels][:, None] + 0.1 * noise * torch.randn(n, T, 3 * H * H, generator=g)).clamp(0, 1)
    audio = (0.1 * w_a.T[labels][:, None] + 0.1 * noise * torch.randn(n, T, S, generator=g)).clamp(-1, 1)
    data = AVDataset(video.view(n, T, 3, H, H), audio.reshape(n, T * S), labels, ["a", "b", "c"], fps=8.0,
                     sample_rate=8 * S, spec="templates", split="test")
    return avrobust.wrap(Templates(w_v, w_a), num_classes=K, sample_rate=8 * S), data


def test_kept_share_counts_the_subsets_that_miss_the_changed_elements() -> None:
    assert kept_share(8, 1, 3) == 5 / 8 and kept_share(8, 2, 1) == 21 / 28 and kept_share(4, 2, 3) == 0.0


def test_no_replacement_within_the_certified_counts_changes_the_vote() -> None:
    """Exact votes (all 64 pairs of one frame and one segment): the certificate is deterministic, so every one
    of 100 random replacements per certified clip keeps the class."""
    model, data = setup()
    certifier = create_certifier("mmcert", k_video=1, k_audio=1)
    result = certify_model(model, data, certifier)
    assert certifier.exact(T) and result.grid and len(result.frontier) == len(data)
    g = torch.Generator().manual_seed(1)
    checked = 0
    model.eval()
    for i, (label, frontier) in enumerate(zip(result.predictions, result.frontier)):
        if label < 0 or frontier[0] < 0:
            continue
        video, audio = data.video[i], data.audio[i].view(T, S)
        others = (data.labels != label).nonzero().flatten()
        for _ in range(100):
            r_v = int(torch.randint(0, T + 1, (1,), generator=g))
            if frontier[r_v] < 0:
                continue
            r_a = int(torch.randint(0, frontier[r_v] + 1, (1,), generator=g))
            donor = int(others[torch.randint(0, len(others), (1,), generator=g)])
            v, a = video.clone(), audio.clone()
            pick_v, pick_a = torch.randperm(T, generator=g)[:r_v], torch.randperm(T, generator=g)[:r_a]
            v[pick_v] = data.video[donor][pick_v]
            a[pick_a] = data.audio[donor].view(T, S)[pick_a]
            assert certifier.vote(model, v, a.flatten(), g) == label, (i, r_v, r_a)
            checked += 1
    assert checked >= 300  # enough certified clips and replacements were tried
    assert any(f[1] >= 1 for f in result.frontier)  # some certificates reach beyond one frame and one segment


def test_sampled_votes_certify_no_more_than_the_exact_vote() -> None:
    """With 1000 random subsamples and Clopper-Pearson at alpha = 0.001 the frontier never exceeds the exact one."""
    model, data = setup()
    exact = certify_model(model, data, create_certifier("mmcert", k_video=1, k_audio=1))
    sampled = certify_model(model, data, create_certifier("mmcert", k_video=1, k_audio=1, sample=True), seed=3)
    for e, s, le, ls in zip(exact.frontier, sampled.frontier, exact.predictions, sampled.predictions):
        if ls >= 0:
            assert ls == le and all(b <= a for a, b in zip(e, s))
    assert all(b <= a + 1e-9 for a, b in zip(exact.certified_accuracy, sampled.certified_accuracy))
