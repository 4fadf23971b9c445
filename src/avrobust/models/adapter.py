"""Bring your own model: :func:`wrap` makes any PyTorch audio-visual network an avrobust classifier.

The wrapped model takes avrobust's raw inputs (video ``[N, T, 3, H, W]`` in [0, 1], audio ``[N, L]``
in [-1, 1], so budgets keep their units), hands the user's model what it expects (video layout,
normalisation, a differentiable audio front end, argument order) and returns a
:class:`~avrobust.models.classifier.LazyOutput`:

* ``logits``: the model's fused logits ``[N, K]`` (its output, or the item ``logits=`` selects);
* ``audio_logits``, ``visual_logits`` (p_a, p_v; MMA, TMA and the unimodal accuracies): the outputs
  of the modules named ``audio_head`` / ``visual_head``, else by **modality ablation**
  (:data:`ABLATION`): p_a is the model on the clip with every frame replaced by the clip's mean
  colour, p_v the model on the clip with the audio silenced (one more forward pass each, only when
  read);
* ``audio_features``, ``visual_features`` (TIA, TMA's temporal term): the outputs of the modules
  named ``audio_features`` / ``visual_features``, captured by forward hooks and brought to
  ``[N, T', D]`` (see :data:`~avrobust.models.outputs.FEATURE_LAYOUTS`); missing ones raise an error naming the attacks that
  need them.

The user's model is never changed: its parameters are the wrapper's (``wrapped.model``), evaluation
restores every submodule's mode afterwards, and the hooks exist only during a forward pass.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from avrobust.errors import AvrobustError, ConfigError, InputError
from avrobust.models.classifier import LazyOutput, eval_mode
from avrobust.models.interface import check_input, model_device
from avrobust.models.outputs import FEATURE_LAYOUTS, features_ntd, first_tensor, select_logits
from avrobust.types import AVBatch

VIDEO_LAYOUTS = {"NTCHW": "[N, T, C, H, W]", "NCTHW": "[N, C, T, H, W]"}
ABLATION = ("ablation: audio-only p_a = the model on the clip with every frame replaced by the clip's mean colour; "
            "visual-only p_v = the model on the clip with the audio silenced")
FEATURE_ATTACKS = "TIA and TMA (and MMA with alignment=features)"


@dataclass(frozen=True)
class WrapConfig:
    """How a user's model is wrapped (stored in checkpoints; see :func:`wrap` for the fields)."""

    num_classes: int
    sample_rate: int
    video_layout: str = "NTCHW"
    inputs: tuple[str, str] = ("video", "audio")
    video_mean: tuple[float, ...] | None = None
    video_std: tuple[float, ...] | None = None
    logits: str | int | None = None
    audio_head: str | None = None
    visual_head: str | None = None
    audio_features: str | None = None
    visual_features: str | None = None
    audio_feature_layout: str | None = None
    visual_feature_layout: str | None = None
    model_class: str = ""
    frontend: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"wrapped": True, **asdict(self)}

    @property
    def unimodal(self) -> str:
        return "heads" if self.audio_head else "ablation"


class WrappedModel(nn.Module):
    """A user's model behind avrobust's classifier interface (build it with :func:`wrap`)."""

    def __init__(self, model: nn.Module, config: WrapConfig, frontend: Callable[..., torch.Tensor] | None) -> None:
        super().__init__()
        self.model, self.config = model, config
        self.frontend = frontend
        self._frontend_segments = frontend is not None and _positional_arity(frontend) >= 2
        for name in ("video_mean", "video_std"):
            values = getattr(config, name)
            self.register_buffer(name, None if values is None else torch.tensor(values).view(1, 1, -1, 1, 1),
                                 persistent=False)
        self.training = model.training  # the wrapper starts in the model's mode

    @property
    def unimodal_definition(self) -> str | None:
        """``None`` when p_a, p_v come from the model's heads, else :data:`ABLATION`."""
        return None if self.config.unimodal == "heads" else ABLATION

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> LazyOutput:
        """Classify raw clips: video ``[N, T, 3, H, W]`` in [0, 1], audio ``[N, T * S]`` in [-1, 1]."""
        if video.dim() != 5 or audio.dim() != 2:
            raise InputError(f"a wrapped model takes video [N, T, C, H, W] and audio [N, L] (avrobust's layout; "
                             f"video_layout converts), got {tuple(video.shape)} and {tuple(audio.shape)}")
        n, t = video.shape[:2]
        cfg = self.config
        names = {"audio_head": cfg.audio_head, "visual_head": cfg.visual_head,
                 "audio_features": cfg.audio_features, "visual_features": cfg.visual_features}
        with self._hooks({k: v for k, v in names.items() if v}) as seen:
            logits = self._logits(video, audio)
        values: dict[str, Any] = {"logits": logits}
        if cfg.unimodal == "heads":
            values["audio_logits"], values["visual_logits"] = (self._captured(seen, k) for k in ("audio_head", "visual_head"))
        else:
            values["audio_logits"] = lambda: self._logits(mean_frames(video), audio)
            values["visual_logits"] = lambda: self._logits(video, torch.zeros_like(audio))
        for m in ("audio", "visual"):
            key = f"{m}_features"
            if names[key]:
                values[key] = lambda key=key: features_ntd(self._captured(seen, key), getattr(cfg, f"{key[:-1]}_layout"),
                                                           n, t, key)
            else:
                values[key] = _missing(key)
        return LazyOutput(values, cfg.unimodal)

    def _logits(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        if self.video_mean is not None:
            video = (video - self.video_mean) / self.video_std
        if self.config.video_layout == "NCTHW":
            video = video.permute(0, 2, 1, 3, 4)
        if self.frontend is not None:
            audio = self.frontend(audio, video.shape[2 if self.config.video_layout == "NCTHW" else 1]) \
                if self._frontend_segments else self.frontend(audio)
        args = (video, audio) if self.config.inputs[0] == "video" else (audio, video)
        return select_logits(self.model(*args), self.config.logits)

    @contextmanager
    def _hooks(self, names: dict[str, str]) -> Iterator[dict[str, list[torch.Tensor]]]:
        modules = dict(self.model.named_modules())
        seen: dict[str, list[torch.Tensor]] = {k: [] for k in names}
        handles = []
        try:
            for key, name in names.items():
                def hook(_m: nn.Module, _i: Any, out: Any, key: str = key) -> None:
                    seen[key].append(out if isinstance(out, torch.Tensor) else first_tensor(out, key))
                handles.append(modules[name].register_forward_hook(hook))
            yield seen
        finally:
            for h in handles:
                h.remove()

    def _captured(self, seen: dict[str, list[torch.Tensor]], key: str) -> torch.Tensor:
        outs = seen[key]
        name = getattr(self.config, key)
        if not outs:
            raise ConfigError(f"{key}={name!r}: that module was not called in the model's forward pass; "
                              f"name one that is")
        if len(outs) == 1:
            return outs[0]
        if all(o.dim() == 2 and o.shape == outs[0].shape for o in outs):  # called once per frame: [N, D] each
            return torch.stack(outs, 1)
        raise ConfigError(f"{key}={name!r}: the module ran {len(outs)} times with outputs of different shapes; "
                          "name a module that runs once per forward pass")

    def check_batch(self, batch: AVBatch) -> None:
        """Raise a one-line error if ``batch`` does not fit: sample rate, then one clip through the model
        (its layout, front end and outputs, with the argument to fix named)."""
        check_input(self.config, batch, "use matching data or wrap it with that sample_rate")
        device = model_device(self)
        one = batch.index(slice(0, 1)).to(device)
        try:
            with eval_mode(self), torch.no_grad():
                out = self(one.video, one.audio)
                logits = out.logits
                for key in ("audio_features", "visual_features"):
                    if getattr(self.config, key):
                        getattr(out, key)
        except AvrobustError:
            raise
        except Exception as err:  # noqa: BLE001 - the user's model failed: say which arguments shape its input
            shape = tuple(one.video.shape) if self.config.video_layout == "NTCHW" else \
                tuple(one.video.permute(0, 2, 1, 3, 4).shape)
            raise InputError(f"the wrapped {self.config.model_class} failed on one clip given as video "
                             f"{self.config.video_layout} {shape} and audio "
                             f"{'through the front end' if self.frontend else tuple(one.audio.shape)} "
                             f"({type(err).__name__}: {str(err).splitlines()[0][:160]}); check video_layout, inputs "
                             "and audio_frontend") from None
        if logits.dim() != 2 or logits.shape[1] != self.config.num_classes:
            raise ConfigError(f"the model's logits have shape {tuple(logits.shape)}, expected [N, "
                              f"{self.config.num_classes}]; check num_classes, or logits= (which output is the logits)")


def wrap(model: nn.Module, *, num_classes: int, sample_rate: int, video_layout: str = "NTCHW",
         inputs: tuple[str, str] | str = ("video", "audio"), video_mean: tuple[float, ...] | None = None,
         video_std: tuple[float, ...] | None = None, audio_frontend: Callable[..., torch.Tensor] | None = None,
         logits: str | int | None = None, audio_head: str | None = None, visual_head: str | None = None,
         audio_features: str | None = None, visual_features: str | None = None,
         audio_feature_layout: str | None = None, visual_feature_layout: str | None = None) -> WrappedModel:
    """Wrap ``model`` (called as ``model(video, audio)``) so every avrobust attack, evaluation and trainer takes it.

    Args:
        num_classes: K, the size of the model's logits.
        sample_rate: the model's audio rate (Hz).
        video_layout: ``NTCHW`` or ``NCTHW``, the video layout the model takes.
        inputs: ``("video", "audio")`` or ``("audio", "video")``: the model's argument order.
        video_mean: per-channel mean the model expects, subtracted inside the wrapper (budgets stay in
            [0, 1] pixel units).
        video_std: per-channel standard deviation the model expects, divided inside the wrapper.
        audio_frontend: a differentiable function of the waveform ``[N, L]`` (a log-mel or fbank
            module; called with ``(audio, T)`` when it takes two arguments); ``None``: the waveform.
        logits: index or key of the fused logits in the model's output (default: the output, its
            first item, or its ``logits``).
        audio_head: name (as in ``model.named_modules()``) of the module returning the audio-only logits
            ``[N, K]``; give both heads or neither (then p_a, p_v by :data:`ABLATION`).
        visual_head: name of the module returning the visual-only logits ``[N, K]``.
        audio_features: name of the module whose output is the per-segment audio features (TIA and TMA
            need both features); ``audio_feature_layout`` from :data:`FEATURE_LAYOUTS` (default: by rank).
        visual_features: the same for the visual features (``visual_feature_layout``).
    """
    if isinstance(inputs, str):
        inputs = tuple(s.strip() for s in inputs.split(","))  # type: ignore[assignment]
    if int(num_classes) != num_classes or num_classes < 2:
        raise ConfigError(f"num_classes must be an integer >= 2, got {num_classes}")
    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ConfigError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    if video_layout not in VIDEO_LAYOUTS:
        raise ConfigError(f"video_layout={video_layout!r} is not a layout avrobust knows; use "
                          + " or ".join(f"{k!r} ({v})" for k, v in VIDEO_LAYOUTS.items()))
    if sorted(inputs) != ["audio", "video"]:
        raise ConfigError(f"inputs={inputs!r}: give the model's argument order, ('video', 'audio') or ('audio', 'video')")
    for name, values in (("video_mean", video_mean), ("video_std", video_std)):
        if values is not None and (len(values) != 3 or (name == "video_std" and min(values) <= 0)):
            raise ConfigError(f"{name} must be 3 per-channel values{' > 0' if name == 'video_std' else ''}, got {values}")
    if (video_mean is None) != (video_std is None):
        raise ConfigError("give video_mean and video_std together, or neither")
    if bool(audio_head) != bool(visual_head):
        raise ConfigError("name both audio_head and visual_head (the unimodal classifiers), or neither "
                          "(p_a and p_v then come from modality ablation)")
    modules = dict(model.named_modules())
    for arg, name in (("audio_head", audio_head), ("visual_head", visual_head),
                      ("audio_features", audio_features), ("visual_features", visual_features)):
        if name and name not in modules:
            close = difflib.get_close_matches(name, [k for k in modules if k], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see model.named_modules() for the names"
            raise ConfigError(f"{arg}={name!r}: the model has no module of that name{hint}")
    for arg, layout in (("audio_feature_layout", audio_feature_layout), ("visual_feature_layout", visual_feature_layout)):
        if layout is not None and layout not in FEATURE_LAYOUTS:
            raise ConfigError(f"{arg}={layout!r} is not a feature layout; use one of {', '.join(FEATURE_LAYOUTS)}")
    if audio_frontend is not None and not callable(audio_frontend):
        raise ConfigError("audio_frontend must be a module or function of the waveform [N, L]")
    config = WrapConfig(
        num_classes=int(num_classes), sample_rate=sample_rate, video_layout=video_layout, inputs=tuple(inputs),
        video_mean=None if video_mean is None else tuple(map(float, video_mean)),
        video_std=None if video_std is None else tuple(map(float, video_std)), logits=logits,
        audio_head=audio_head, visual_head=visual_head, audio_features=audio_features,
        visual_features=visual_features, audio_feature_layout=audio_feature_layout,
        visual_feature_layout=visual_feature_layout, model_class=type(model).__name__,
        frontend="" if audio_frontend is None else type(audio_frontend).__name__)
    return WrappedModel(model, config, audio_frontend)


def mean_frames(video: torch.Tensor) -> torch.Tensor:
    """Video ``[N, T, C, H, W]`` with every frame replaced by the clip's mean colour: the clip without its
    visual content (the ablation's p_a, and the missing-video accuracy of every evaluation)."""
    return video.mean(dim=(1, 3, 4), keepdim=True).expand_as(video)


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _missing(key: str) -> Callable[[], torch.Tensor]:
    def fail() -> torch.Tensor:
        raise ConfigError(f"this attack needs per-segment {key.replace('_', ' ')}, which {FEATURE_ATTACKS} use; "
                          f"wrap the model with {key}='<module name>' (a module whose output has a time axis)")
    return fail
