"""Whisper's audio encoder (Radford et al. 2022), tiny.en size (4 layers, 384 wide, 6 heads), in OpenAI
Whisper's key layout (``conv1``, ``conv2``, ``positional_embedding``, ``blocks.i.attn.{query,key,value,out}``,
``blocks.i.attn_ln``, ``blocks.i.mlp.{0,2}``, ``blocks.i.mlp_ln``, ``ln_post``); its log-mel front end in
torch, differentiable from the 16 kHz waveform; and the audio encoder ``whisper-tiny`` over it.

Front end (Whisper's own): a periodic Hann window of 400 samples, hop 160, centred frames (reflect
padding), power spectrum, 80 Slaney mel bands (librosa's filterbank, as Whisper's), ``log10`` clamped at
1e-10, floored at the clip's maximum minus 8, then ``(x + 4) / 4``; the last frame is dropped, as Whisper
does. Whisper pads every input to 30 s; the encoder here reads the clip as it is and adds the first
``frames / 2`` rows of the positional embedding (clips of up to 30 s), so a 1 s clip costs 50 tokens,
not 1500. Its activations on a clip therefore differ from those of the clip padded to 30 s: a choice of
cost, stated here and in the model listing.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from avrobust.errors import InputError
from avrobust.models.backbones.waveform import WaveformBackbone
from avrobust.models.encoders import AUDIO_ENCODERS
from avrobust.models.frontend import mel_basis

SAMPLE_RATE, FFT, HOP, MELS, CONTEXT = 16000, 400, 160, 80, 1500
WIDTH, HEADS, LAYERS = 384, 6, 4


class WhisperFrontEnd(nn.Module):
    """Waveform ``[N, L]`` at 16 kHz in [-1, 1] -> Whisper's log-mel ``[N, 80, L // 160]``."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(FFT, periodic=True), persistent=False)
        filters = torch.from_numpy(mel_basis(SAMPLE_RATE, FFT, MELS, 0.0, SAMPLE_RATE / 2)).float()
        self.register_buffer("filters", filters, persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        padded = F.pad(audio[:, None], (FFT // 2, FFT // 2), mode="reflect")[:, 0]
        frames = padded.unfold(1, FFT, HOP)[:, :-1] * self.window  # [N, F, 400], the last frame dropped
        power = torch.fft.rfft(frames, n=FFT).abs() ** 2  # [N, F, 201]
        log_spec = torch.clamp(self.filters @ power.transpose(1, 2), min=1e-10).log10()
        floor = log_spec.amax(dim=(1, 2), keepdim=True) - 8.0
        return (torch.maximum(log_spec, floor) + 4.0) / 4.0


class Attention(nn.Module):
    """Multi-head self-attention in Whisper's layout (the key projection has no bias)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(width, width), nn.Linear(width, width, bias=False), nn.Linear(width, width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, s, d = x.shape
        q, k, v = (p(x).view(n, s, self.heads, d // self.heads).transpose(1, 2) for p in (self.query, self.key, self.value))
        return self.out(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, s, d))


class Block(nn.Module):
    """Pre-norm residual attention and GELU MLP (4x wide)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn_ln, self.attn = nn.LayerNorm(width), Attention(width, heads)
        self.mlp_ln = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_ln(x))
        return x + self.mlp(self.mlp_ln(x))


class WhisperEncoder(nn.Module):
    """Log-mel ``[N, 80, F]`` (F <= 3000) -> tokens ``[N, ceil(F / 2), 384]``."""

    def __init__(self, mels: int = MELS, width: int = WIDTH, heads: int = HEADS, layers: int = LAYERS) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(mels, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
        self.register_buffer("positional_embedding", torch.zeros(CONTEXT, width))
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_post = nn.LayerNorm(width)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)
        if x.shape[1] > CONTEXT:
            raise InputError(f"Whisper's encoder reads at most 30 s of audio; this clip has {mel.shape[2] / 100:.1f} s")
        x = x + self.positional_embedding[: x.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x)


@AUDIO_ENCODERS.register("whisper-tiny")
class AudioWhisperTiny(WaveformBackbone):
    """Whisper tiny.en's encoder tokens (384) averaged per aligned segment; 16 kHz audio; ``width`` unused."""

    weights: ClassVar[str] = "whisper-tiny"
    sample_rate: ClassVar[int] = SAMPLE_RATE

    def __init__(self, width: int = 0, dropout: float = 0.0) -> None:
        super().__init__(WhisperEncoder(), dropout, WIDTH)
        self.frontend = WhisperFrontEnd()

    def blocks(self) -> list[nn.Module]:
        return [self.net.conv1, self.net.conv2, *self.net.blocks, self.net.ln_post]

    def forward(self, audio: torch.Tensor, segments: int) -> torch.Tensor:
        return self.per_segment(self.net(self.frontend(audio)).transpose(1, 2), segments)  # tokens [N, 384, S] pooled


__all__ = ["AudioWhisperTiny", "WhisperEncoder", "WhisperFrontEnd"]
