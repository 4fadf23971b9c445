"""Reading a user's model: the fused logits in its output, and hooked features as ``[N, T', D]``."""

from __future__ import annotations

from typing import Any

import torch

from avrobust.errors import ConfigError

#: how a hooked module's output becomes ``[N, T', D]``: N clips, T' time steps, D features
FEATURE_LAYOUTS = {
    "NTD": "[N, T, D]", "NDT": "[N, D, T] (time last)", "(NT)D": "[N*T, D] (one row per frame or segment)",
    "(NT)CHW": "[N*T, C, H, W] (per-frame maps, averaged over H, W)",
    "NCTHW": "[N, C, T, H, W] (3D-conv maps, averaged over H, W)",
    "NCFT": "[N, C, F, T] (spectrogram maps, time last, averaged over F)",
    "NCTF": "[N, C, T, F] (spectrogram maps, time first, averaged over F)",
}

def select_logits(output: Any, which: str | int | None) -> torch.Tensor:
    """The logits in a model's output: the output itself, ``output[which]`` or ``output.which``
    (default: the first item of a tuple or list, ``output["logits"]`` or ``output.logits``)."""
    if which is None:
        if isinstance(output, torch.Tensor):
            return output
        if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
            return output[0]
        which = "logits"
    try:
        value = output[which] if isinstance(output, (dict, tuple, list)) else getattr(output, str(which))
    except (KeyError, IndexError, AttributeError, TypeError):
        value = None
    if not isinstance(value, torch.Tensor):
        raise ConfigError(f"logits={which!r}: the model's output ({type(output).__name__}) holds no tensor there; "
                          "pass logits= as the index or key of the fused logits")
    return value


def features_ntd(x: torch.Tensor, layout: str | None, n: int, t: int, arg: str) -> torch.Tensor:
    """A hooked feature as ``[N, T', D]`` (``layout`` from :data:`FEATURE_LAYOUTS`, ``None``: by rank)."""
    if layout is None:
        layout = {3: "NTD", 5: "NCTHW"}.get(x.dim())
        if x.dim() in (2, 4) and x.shape[0] == n * t and (t > 1 or x.dim() == 4):
            layout = "(NT)D" if x.dim() == 2 else "(NT)CHW"
        if layout is None:
            raise ConfigError(f"{arg}: the module's output has shape {tuple(x.shape)}, which has no time axis "
                              f"avrobust can find for {n} clips of {t} frames; name a module before temporal "
                              f"pooling, or set {arg[:-1]}_layout to one of {', '.join(FEATURE_LAYOUTS)}")
    rank = {"NTD": 3, "NDT": 3, "(NT)D": 2, "(NT)CHW": 4, "NCTHW": 5, "NCFT": 4, "NCTF": 4}[layout]
    if x.dim() != rank or x.shape[0] != (n * t if layout.startswith("(NT)") else n):
        first = "N*T" if layout.startswith("(NT)") else "N"
        raise ConfigError(f"{arg}: the module's output has shape {tuple(x.shape)}, not {FEATURE_LAYOUTS[layout]} "
                          f"with {first} = {n * t if first == 'N*T' else n}; set {arg[:-1]}_layout or name another module")
    if layout == "NTD":
        return x
    if layout == "NDT":
        return x.transpose(1, 2)
    if layout == "(NT)D":
        return x.reshape(n, t, -1)
    if layout == "(NT)CHW":
        return x.mean(dim=(2, 3)).reshape(n, t, -1)
    if layout == "NCTHW":
        return x.mean(dim=(3, 4)).transpose(1, 2)
    return (x.mean(dim=2) if layout == "NCFT" else x.mean(dim=3)).transpose(1, 2)


def first_tensor(out: Any, key: str) -> torch.Tensor:
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise ConfigError(f"{key}: the module returns {type(out).__name__}, not a tensor; name a module that returns one")
