"""No out-of-memory crash: a batch that does not fit is run in smaller pieces, with the same results.

:func:`within_memory` runs one batch's work; on an out-of-memory error it halves the number of clips
the model sees at once, says so in one warning line, and runs the same work again through
:class:`Chunked`, which feeds the model that many clips at a time (an attack that runs the model on
several transformed copies of a batch at once is fed in pieces too). The batch itself is unchanged, so
every random draw of the attacks (random starts, transformations, mix-up partners) is the one an
unsplit run makes, and each clip's computation is the same: the results are those of an unsplit run.
Gradients go through :func:`torch.utils.checkpoint.checkpoint` per piece, so a backward pass holds one
piece's activations at a time. The smaller size is kept, for that model, for everything that follows
in the process.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from avrobust.console import warn
from avrobust.errors import InputError
from avrobust.models.classifier import OUTPUT_FIELDS, LazyOutput
from avrobust.models.interface import AVModel
from avrobust.types import AVBatch

T = TypeVar("T")


def is_out_of_memory(err: BaseException) -> bool:
    """CUDA's and the CPU allocator's out-of-memory errors, and MPS's (a RuntimeError that says so)."""
    return isinstance(err, torch.OutOfMemoryError) or (isinstance(err, RuntimeError) and "out of memory" in str(err))


class Chunked(nn.Module):
    """``model`` fed at most ``size`` clips at a time; outputs (and their gradients) as if fed the batch.

    Each output field is computed when read, piece by piece (checkpointed when it needs a gradient).
    """

    def __init__(self, model: AVModel, size: int) -> None:
        super().__init__()
        self.model, self.size = model, int(size)
        self.config = model.config
        self.training = model.training

    @property
    def unimodal_definition(self) -> str | None:
        return self.model.unimodal_definition

    def check_batch(self, batch: AVBatch) -> None:
        self.model.check_batch(batch)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> Any:
        n = video.shape[0]
        if n <= self.size:
            return self.model(video, audio)
        pieces = [(i, min(i + self.size, n)) for i in range(0, n, self.size)]

        def field(name: str) -> Callable[[], torch.Tensor]:
            def run(v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
                return getattr(self.model(v, a), name)

            def whole() -> torch.Tensor:
                grad = torch.is_grad_enabled() and (video.requires_grad or audio.requires_grad)
                return torch.cat([checkpoint(run, video[i:j], audio[i:j], use_reentrant=False) if grad
                                  else run(video[i:j], audio[i:j]) for i, j in pieces])

            return whole

        return LazyOutput({name: field(name) for name in OUTPUT_FIELDS},
                          "heads" if self.model.unimodal_definition is None else "ablation")


#: per model, the most clips it has been fed at once since an out-of-memory error (kept for the process)
_LIMITS: weakref.WeakKeyDictionary[nn.Module, int] = weakref.WeakKeyDictionary()


def within_memory(work: Callable[[Any], T], model: AVModel, clips: int) -> T:
    """``work(m)`` with ``m`` the model, or the model fed fewer clips at a time once it has run out of
    memory (``clips``: the batch's size); see the module docstring."""
    while True:
        limit = _LIMITS.get(model)  # type: ignore[call-overload]
        fed = model if limit is None else Chunked(model, limit)
        try:
            return work(fed)
        except (torch.OutOfMemoryError, RuntimeError) as err:
            if not is_out_of_memory(err):
                raise
        now = min(limit or clips, clips)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if now <= 1:
            raise InputError("out of memory with a single clip at a time; use a smaller model, shorter clips, "
                             "--precision bf16 or another device") from None
        _LIMITS[model] = now // 2  # type: ignore[index]
        warn(f"out of memory with {now} clips at once; running {now // 2} at a time from here on "
             "(the results do not change)")
