"""A victim outside PyTorch: an ONNX classifier run by onnxruntime (the optional ``onnx`` extra), wrapped
as an avrobust classifier for scoring saved adversarial sets (no gradients: it is never attacked).

The graph takes video ``[N, T, 3, H, W]`` in [0, 1] and audio ``[N, L]`` in [-1, 1] (inputs named
``video`` and ``audio``, else the first two in that order) and returns logits ``[N, K]`` first;
p_a and p_v are defined by modality ablation, as for any wrapped model without heads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avrobust.errors import ConfigError
from avrobust.models.adapter import WrappedModel, wrap


class OnnxModule(nn.Module):
    """``forward(video, audio) -> logits`` through an onnxruntime session on the CPU."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        try:
            import onnxruntime
        except ImportError:
            raise ConfigError("scoring an ONNX model needs onnxruntime: pip install 'avrobust[onnx]' "
                              "(or pip install onnxruntime)") from None
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"ONNX model {path} does not exist")
        try:
            self.session: Any = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime's own errors
            raise ConfigError(f"{path} is not a loadable ONNX model ({str(err).splitlines()[0][:160]})") from None
        names = [i.name for i in self.session.get_inputs()]
        if len(names) != 2:
            raise ConfigError(f"{path} takes {len(names)} inputs; avrobust feeds two, video and audio")
        self.names = (("video", "audio") if {"video", "audio"} == set(names) else tuple(names))
        self.path = str(path)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        feed = {self.names[0]: video.detach().cpu().float().numpy(), self.names[1]: audio.detach().cpu().float().numpy()}
        logits = self.session.run(None, feed)[0]
        return torch.from_numpy(np.asarray(logits, dtype=np.float32)).to(video.device)


def load_onnx(path: str | Path, num_classes: int, sample_rate: int) -> WrappedModel:
    """The ONNX classifier at ``path`` as an avrobust classifier (its class count and rate: the data's)."""
    return wrap(OnnxModule(path), num_classes=num_classes, sample_rate=sample_rate).eval()
