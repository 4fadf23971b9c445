"""The threat model, in one place: per-modality budgets, steps and the single ``project``.

Budgets are in raw input units: video in [0, 1], audio waveform in [-1, 1]. Every function works on
tensors of any rank whose first dimension is the batch.

Defaults (our decision, PAPER.md): L-inf, video ``eps = 8/255``; audio ``eps = 0.01`` (-40 dBFS
peak, half the std of ``synth``'s own noise floor); ``avrobust evaluate`` reports the SNR of every
attack, and benchmarks/RESULTS.md what the defaults measure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from avrobust.errors import ConfigError
from avrobust.types import AUDIO_RANGE, MODALITIES, VIDEO_RANGE

NORMS = ("linf", "l2")
DEFAULT_VIDEO_EPS = 8 / 255
DEFAULT_AUDIO_EPS = 0.01
Inputs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Budget:
    """Budget of one modality.

    Attributes:
        norm: ``linf`` or ``l2`` (L2 over all non-batch dimensions of a clip).
        eps: radius, in input units (>= 0).
        step: step size in input units; ``None`` lets each attack use its rule (e.g. eps / steps).
        low, high: the valid input range.
    """

    norm: str = "linf"
    eps: float = DEFAULT_VIDEO_EPS
    step: float | None = None
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ConfigError(f"unknown norm {self.norm!r}; valid choices: {', '.join(NORMS)}")
        if not (self.eps >= 0 and self.eps == self.eps and self.eps != float("inf")):
            raise ConfigError(f"eps must be a finite number >= 0, got {self.eps}")
        if not self.low < self.high:
            raise ConfigError(f"range low ({self.low}) must be below high ({self.high})")
        width = self.high - self.low
        if self.norm == "linf" and self.eps > width:
            raise ConfigError(f"linf eps {self.eps:g} is larger than the input range {width:g}; "
                              "budgets are in raw input units (video [0,1], audio [-1,1])")
        if self.step is not None and not (self.step > 0 and self.step != float("inf")):
            raise ConfigError(f"step size must be a finite number > 0, got {self.step}")

    def describe(self, step: float | None = None) -> dict[str, Any]:
        """JSON-ready ``{norm, eps, step}`` (``step`` overrides the stored one, e.g. resolved)."""
        return {"norm": self.norm, "eps": self.eps, "step": self.step if step is None else step}


def _video_budget() -> Budget:
    return Budget("linf", DEFAULT_VIDEO_EPS, None, *VIDEO_RANGE)


def _audio_budget() -> Budget:
    return Budget("linf", DEFAULT_AUDIO_EPS, None, *AUDIO_RANGE)


@dataclass(frozen=True)
class ThreatModel:
    """Which modalities are perturbed and the budget of each.

    Attributes:
        video, audio: the per-modality budgets.
        modalities: the attacked ones, a non-empty subset of ``("video", "audio")``.
    """

    video: Budget = field(default_factory=_video_budget)
    audio: Budget = field(default_factory=_audio_budget)
    modalities: tuple[str, ...] = MODALITIES
    #: CRMT's protocol: one L2 budget over the concatenated (video, audio) perturbation (:mod:`.joint`);
    #: each modality's budget then is L2 with this eps (a bound the joint budget implies)
    joint_l2: float | None = None

    def __post_init__(self) -> None:
        mods = tuple(self.modalities)
        unknown = [m for m in mods if m not in MODALITIES]
        if unknown or not mods:
            raise ConfigError(f"unknown modality {', '.join(unknown) or '(none)'}; choose from video, audio")
        object.__setattr__(self, "modalities", tuple(m for m in MODALITIES if m in mods))
        if self.joint_l2 is not None:
            eps = float(self.joint_l2)
            if not (eps > 0 and eps != float("inf")):
                raise ConfigError(f"a joint L2 budget must be a finite number > 0, got {self.joint_l2}")
            if self.modalities != MODALITIES:
                raise ConfigError("a joint L2 budget spans both modalities; attack video,audio")
            object.__setattr__(self, "joint_l2", eps)
            for m in MODALITIES:
                object.__setattr__(self, m, replace(self.budget(m), norm="l2", eps=eps))

    def budget(self, modality: str) -> Budget:
        return self.video if modality == "video" else self.audio

    def with_modalities(self, *modalities: str) -> ThreatModel:
        return replace(self, modalities=tuple(modalities))

    def scaled(self, factor: float) -> ThreatModel:
        """Both budgets (eps and any fixed step) multiplied by ``factor`` (> 0)."""
        if not factor > 0:
            raise ConfigError(f"a budget scale must be > 0, got {factor}")

        def scale(b: Budget) -> Budget:
            return replace(b, eps=b.eps * factor, step=None if b.step is None else b.step * factor)

        joint = None if self.joint_l2 is None else self.joint_l2 * factor
        return replace(self, video=scale(self.video), audio=scale(self.audio), joint_l2=joint)

    def describe(self, steps: Mapping[str, float] | None = None) -> dict[str, Any]:
        """JSON-ready budgets of both modalities plus the attacked ones."""
        steps = steps or {}
        return {"video": self.video.describe(steps.get("video")), "audio": self.audio.describe(steps.get("audio")),
                "modalities": list(self.modalities), **({"joint_l2": self.joint_l2} if self.joint_l2 else {})}

    @classmethod
    def build(cls, modalities: str | tuple[str, ...] = MODALITIES, joint_l2: float | None = None,
              **kwargs: Any) -> ThreatModel:
        """Build from flat keywords: ``eps_video``, ``norm_audio``, ``step_video``...; ``joint_l2``: one L2
        budget over both modalities (CRMT's protocol), which replaces the per-modality ones.

        ``modalities`` may be ``"video,audio"``.
        """
        parts: dict[str, dict[str, Any]] = {"video": asdict(_video_budget()), "audio": asdict(_audio_budget())}
        for key, value in kwargs.items():
            attr, _, mod = key.rpartition("_")
            if mod not in parts or attr not in ("eps", "norm", "step"):
                raise ConfigError(f"unknown threat option {key!r}; use eps_/norm_/step_ + video or audio")
            if value is not None:
                parts[mod][attr] = value
        if isinstance(modalities, str):
            modalities = tuple(m.strip() for m in modalities.split(",") if m.strip())
        if joint_l2 is not None and any(kwargs.get(f"{a}_{m}") is not None for a in ("eps", "norm") for m in MODALITIES):
            raise ConfigError("a joint L2 budget replaces the per-modality eps and norm; give one or the other")
        return cls(Budget(**parts["video"]), Budget(**parts["audio"]), tuple(modalities), joint_l2)


def flat_norm(x: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-sample norm over all non-batch dimensions, shape ``[N]``."""
    flat = x.flatten(1)
    return flat.abs().amax(1) if norm == "linf" else flat.norm(p=2, dim=1)


def _per_sample(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (x.dim() - 1)))


def select(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample choice: clip ``i`` of ``a`` where ``mask[i]`` (``[N]`` bool), else of ``b``."""
    return torch.where(_per_sample(mask, a), a, b)


def project(x_adv: torch.Tensor, x: torch.Tensor, budget: Budget) -> torch.Tensor:
    """Project ``x_adv`` onto ``{x + d : ||d|| <= eps} ∩ [low, high]`` (exact for linf).

    The perturbation is clipped to the ball, then the input to the valid range; the range clip
    only moves coordinates towards ``x`` (which is in range), so the result stays in the ball.
    """
    delta = x_adv - x
    if budget.norm == "linf":
        delta = delta.clamp(-budget.eps, budget.eps)
    else:
        norms = flat_norm(delta, "l2")
        factor = torch.where(norms > budget.eps, budget.eps / (norms + 1e-12), torch.ones_like(norms))
        delta = delta * _per_sample(factor, delta)
    return (x + delta).clamp(budget.low, budget.high)


def ascent_step(x_adv: torch.Tensor, direction: torch.Tensor, budget: Budget,
                step: float | torch.Tensor) -> torch.Tensor:
    """One steepest-ascent step for the budget's norm (sign for linf, unit L2 direction for l2).

    ``step`` is a float or a per-sample tensor ``[N]``.
    """
    if torch.is_tensor(step):
        step = _per_sample(step, x_adv)
    if budget.norm == "linf":
        return x_adv + step * direction.sign()
    # a unit direction however small the gradient (scaled by its largest entry first, so the squares
    # cannot underflow); a zero gradient stays zero
    peak = flat_norm(direction, "linf")
    direction = direction / _per_sample(torch.where(peak > 0, peak, torch.ones_like(peak)), direction)
    norms = flat_norm(direction, "l2")
    return x_adv + step * direction / _per_sample(torch.where(norms > 0, norms, torch.ones_like(norms)), direction)


def random_start(x: torch.Tensor, budget: Budget, generator: torch.Generator | None) -> torch.Tensor:
    """A uniformly random point of the ball around ``x`` (linf: per coordinate; l2: in the ball)."""
    if budget.norm == "linf":
        noise = (torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) * 2 - 1) * budget.eps
    else:
        direction = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        direction = direction / _per_sample(flat_norm(direction, "l2") + 1e-12, direction)
        radius = torch.rand(x.shape[0], generator=generator, device=x.device, dtype=x.dtype)
        radius = radius ** (1.0 / max(x[0].numel(), 1)) * budget.eps
        noise = direction * _per_sample(radius, direction)
    return project(x + noise, x, budget)


def within_budget(x_adv: torch.Tensor, x: torch.Tensor, budget: Budget, tol: float = 1e-5) -> torch.Tensor:
    """Per-sample bool: perturbation within ``eps`` (+ a float tolerance) and input in range."""
    norm_ok = flat_norm(x_adv - x, budget.norm) <= budget.eps * (1 + tol) + tol
    flat = x_adv.flatten(1)
    range_ok = (flat.amin(1) >= budget.low - tol) & (flat.amax(1) <= budget.high + tol)
    return norm_ok & range_ok & torch.isfinite(flat).all(1)
