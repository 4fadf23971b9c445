"""Failing modalities: streams out of sync, dropped frames, audio dropouts and a missing modality. They
break the timing or the presence of a stream rather than its content, and are reported apart from the
natural corruptions (``failure = True``)."""

from __future__ import annotations

import torch

from avrobust.corruptions.base import Corruption, register_corruption
from avrobust.corruptions.sound import silence
from avrobust.types import AVBatch

FAMILY = "failure"
SHARES = (0.1, 0.2, 0.3, 0.4, 0.5)


class _Failure(Corruption):
    family = FAMILY
    failure = True


@register_corruption("desync")
class Desync(_Failure):
    audio_effect = ("the audio shifted against the frames by this many frames' worth, early or late at random per "
                    "clip; the gap it leaves is silent")
    audio_levels = (1, 2, 3, 4, 5)

    def audio(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        shift = min(severity, batch.frames) * batch.samples_per_segment
        late = torch.rand(batch.size, generator=g, device=batch.audio.device) < 0.5
        delayed = torch.nn.functional.pad(batch.audio, (shift, 0))[:, : batch.audio.shape[1]]
        early = torch.nn.functional.pad(batch.audio, (0, shift))[:, shift:]
        return torch.where(late[:, None], delayed, early)


@register_corruption("dropped-frames")
class DroppedFrames(_Failure):
    video_effect = "this share of the frames dropped (at least one; never the first), each replaced by the last frame shown"
    video_levels = SHARES

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        n, t = batch.size, batch.frames
        if t < 2:
            return batch.video
        k = min(t - 1, max(1, round(self.video_levels[severity - 1] * t)))
        scores = torch.rand(n, t - 1, generator=g, device=batch.video.device)
        dropped = torch.zeros(n, t, dtype=torch.bool, device=batch.video.device)
        dropped[:, 1:] = scores.argsort(1).argsort(1) < k
        pos = torch.arange(t, device=batch.video.device).expand(n, t)
        shown = torch.where(dropped, torch.zeros_like(pos), pos).cummax(1).values  # the last frame not dropped
        return batch.video[torch.arange(n, device=pos.device)[:, None], shown]


@register_corruption("audio-dropout")
class AudioDropout(_Failure):
    audio_effect = ("this share of the waveform silenced, in 2 x severity windows (fewer where a window would be "
                    "under 0.1 s) at random places (AVRobustBench's interference audio, with the share kept exact)")
    audio_levels = SHARES

    def audio(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return silence(batch.audio, self.audio_levels[severity - 1], 2 * severity, batch.sample_rate // 10, g)


@register_corruption("missing-audio")
class MissingAudio(_Failure):
    levels = 1
    audio_effect = "the microphone fails: the waveform is silent"

    def audio(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return torch.zeros_like(batch.audio)


@register_corruption("missing-video")
class MissingVideo(_Failure):
    levels = 1
    video_effect = "the camera fails: every frame is replaced by the clip's mean colour"

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return batch.video.mean((1, 3, 4), keepdim=True).expand_as(batch.video)
