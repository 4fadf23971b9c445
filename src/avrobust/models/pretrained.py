"""Pretrained weights from a local file into one branch of a classifier (no download, ever).

A torchvision or timm ResNet-18 state dict (``.pth``/``.pt`` read with ``torch.load(weights_only=True)``,
or ``.safetensors``) loads into a ``resnet18`` encoder as it is: its keys (``conv1.weight``,
``layer1.0.bn1.running_mean``...) are the encoder's under ``visual.net.`` or ``audio.net.``. Into
the 1-channel audio branch, an RGB ``conv1`` is averaged over its input channels (what the
audio-visual literature does with ImageNet weights). Keys the branch lacks (``fc.*``, the classifier
of the file) are reported as ignored, the branch's keys the file lacks as new; a shape mismatch is
one error line naming the first keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from avrobust.errors import ConfigError

BRANCHES = ("visual", "audio")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a weight file; a checkpoint's ``state_dict``/``model`` entry and ``module.`` prefixes
    (DataParallel) are unwrapped."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pretrained weights {path} do not exist; pass a local .pth or .safetensors file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any decoding failure means an unusable file
        raise ConfigError(f"{path} is not a readable state dict ({type(err).__name__}: {str(err)[:120]})") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{path} holds no state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_pretrained(model: nn.Module, path: str | Path, branch: str = "visual") -> dict[str, Any]:
    """Load the weight file ``path`` into ``model.<branch>.net`` (see :func:`load_branch`)."""
    return load_branch(model, branch, read_state_dict(path), str(path))


def load_branch(model: nn.Module, branch: str, state: dict[str, torch.Tensor], source: str) -> dict[str, Any]:
    """Load ``state`` into ``model.<branch>.net`` (a ``resnet18`` encoder, or a pretrained backbone of
    :mod:`avrobust.models.backbones`); return the key report ``{"file", "branch", "loaded", "new",
    "ignored"}`` (counts and the first names; ``file``: ``source``)."""
    path = source
    if branch not in BRANCHES:
        raise ConfigError(f"unknown branch {branch!r}; use visual or audio")
    target = getattr(getattr(model, branch, None), "net", None)
    if target is None:
        raise ConfigError(f"the model's {branch} encoder has no backbone to load weights into (a 'resnet18' or a "
                          "pretrained zoo model, e.g. resnet18-sum-resnet18 or mobilenetv2-sum-yamnet)")
    own = target.state_dict()
    if "conv1.weight" in state and "conv1.weight" in own and state["conv1.weight"].shape[1] != own["conv1.weight"].shape[1]:
        if own["conv1.weight"].shape[1] == 1:  # RGB filters for a spectrogram: their mean over colour
            state = {**state, "conv1.weight": state["conv1.weight"].mean(dim=1, keepdim=True)}
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
             if k in state and state[k].shape != v.shape]
    if wrong:
        raise ConfigError(f"{path} does not fit the {branch} backbone ({'; '.join(wrong[:2])}"
                          f"{' ...' if len(wrong) > 2 else ''}); a ResNet-18 needs --width 64 for torchvision's sizes")
    loaded = sorted(k for k in own if k in state)
    if not loaded:
        raise ConfigError(f"no key of {path} matches the {branch} backbone (first file keys: "
                          f"{', '.join(list(state)[:3])}; the backbone's: {', '.join(list(own)[:3])})")
    target.load_state_dict({**own, **{k: state[k] for k in loaded}})
    new, ignored = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    return {"file": source, "branch": branch, "loaded": len(loaded), "new": new, "ignored": ignored}


def describe(report: dict[str, Any]) -> str:
    """One line: what loaded, what is new, what was ignored."""
    def names(keys: list[str]) -> str:
        return f"{len(keys)}" + (f" ({', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''})" if keys else "")

    return (f"{report['branch']} branch from {report['file']}: {report['loaded']} tensors loaded, new "
            f"{names(report['new'])}, ignored {names(report['ignored'])}")
