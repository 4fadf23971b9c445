"""Count the work a model does: forward and backward passes, in clips.

One clip through the model counts as one forward pass; gradients flowing back through the
model's fused logits for one clip count as one backward pass. This covers training updates and
the input gradients attacks take, so adversarial training methods can be compared by cost.
"""

from __future__ import annotations

from types import TracebackType

import torch
from torch import nn


class CostMeter:
    """Context manager counting forward/backward passes of ``model`` (in clips)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.forward_passes = 0
        self.backward_passes = 0
        self.forward_segments = 0  # clips x aligned segments: shorter clips (sampled segments) cost less
        self._handle: torch.utils.hooks.RemovableHandle | None = None

    def _hook(self, module: nn.Module, inputs: tuple, output: object) -> None:
        n = int(inputs[0].shape[0])
        self.forward_passes += n
        self.forward_segments += n * int(inputs[0].shape[1]) if inputs[0].dim() > 1 else n
        logits = getattr(output, "logits", output)
        if isinstance(logits, torch.Tensor) and logits.requires_grad:
            logits.register_hook(lambda grad: self._count_backward(n))

    def _count_backward(self, n: int) -> None:
        self.backward_passes += n

    def __enter__(self) -> CostMeter:
        self._handle = self.model.register_forward_hook(self._hook)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
