"""Digital faults: compression and interference. Compression runs the frames through JPEG and the
waveform through a low-pass filter (a lossy codec's lost top band); interference tilts the picture
(a rotated frame, AVRobustBench's visual interference) and adds radio interference to the sound.

Departures: AVRobustBench's compression cuts at 8, 6, 4, 2 and 1 kHz of 16 kHz audio; the cut is kept
as the same share of the Nyquist frequency (so it means the same at 8 kHz), except severity 1, whose
8 kHz is the Nyquist itself (no cut), here 7/8 of it. AVRobustBench's interference audio silences
windows; here that is the ``audio-dropout`` failure, and interference mixes a radio-interference bed.
"""

from __future__ import annotations

import torch

from avrobust.corruptions import beds
from avrobust.corruptions.base import Corruption, register_corruption
from avrobust.corruptions.image import jpeg, rotate, uniform
from avrobust.corruptions.sound import BED_SNR_DB, butterworth
from avrobust.types import AVBatch

FAMILY = "digital"


@register_corruption("compression")
class Compression(Corruption):
    family = FAMILY
    video_effect = "JPEG at this quality, every frame"
    video_levels = (25, 18, 15, 10, 7)
    audio_effect = "low-pass (Butterworth, order 6, zero phase) at this share of the Nyquist frequency"
    audio_levels = (0.875, 0.75, 0.5, 0.25, 0.125)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return jpeg(batch.video, self.video_levels[severity - 1])

    def audio(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        cutoff = self.audio_levels[severity - 1] * batch.sample_rate / 2
        return butterworth(batch.audio, batch.sample_rate, cutoff, 6)


@register_corruption("interference")
class Interference(beds._Bed, Corruption):
    family = FAMILY
    video_effect = "a tilted picture: frames rotated by a random angle within +- this many degrees"
    video_levels = (11, 17, 23, 29, 35)
    audio_effect = "radio interference (synthesised static, mains buzz and a whistle) at the SNR"
    audio_levels = tuple(f"{s:g} dB" for s in BED_SNR_DB)
    bed = staticmethod(beds.radio)

    def video(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        limit = self.video_levels[severity - 1]
        return rotate(batch.video, uniform(g, batch.size, -limit, limit, batch.video.device))

    def audio(self, batch: AVBatch, severity: int, g: torch.Generator) -> torch.Tensor:
        return self.bed_audio(batch.audio, batch.sample_rate, severity, g)
