"""Robust accuracy against budget or steps: the white-box cascade once per value of one parameter.

Two curves, one home: an evaluation's ``--sweep`` (:func:`run_sweep`, every attack of the plan) and the
model card's eps curve (:func:`eps_curve`, APGD-CE at the protocol's budget scales; its masking flag is
:func:`~avrobust.evaluation.masking.card_flags`'s).

``eps=2/255,4/255,8/255`` sets the video eps and scales the audio eps by the same factor (both budgets
keep their ratio: at 8/255 the audio eps is the threat's, 0.01 by default); ``steps=1,2,5,10`` sets
every iterative attack's steps (FGSM has none and stays flat). The result is an evaluation's ``sweep``
entry; the report draws it (with error bars over evaluations of other seeds).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from fractions import Fraction

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.data import AVDataset
from avrobust.errors import ConfigError
from avrobust.evaluation import cascade
from avrobust.models.interface import AVModel
from avrobust.results import SweepCurve, SweepResult
from avrobust.results.benchmark import EpsCurve

SWEEPS = ("eps", "steps")
USAGE = "--sweep takes eps=V1,V2,... (video eps such as 2/255; the audio eps scales alike) or steps=N1,N2,..."


def parse_sweep(text: str) -> tuple[str, list[float]]:
    """``"eps=2/255,8/255"`` -> ``("eps", [0.00784, 0.0314])``; one-line errors for anything else."""
    name, _, raw = text.partition("=")
    name = name.strip()
    if name not in SWEEPS or not raw.strip():
        raise ConfigError(f"{USAGE}; got {text!r}")
    try:
        values = [float(Fraction(v.strip())) for v in raw.split(",") if v.strip()]
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"{USAGE}; {raw!r} has a value that is not a number") from None
    if name == "steps" and any(v != int(v) or v < 1 for v in values):
        raise ConfigError(f"steps values must be integers >= 1, got {raw!r}")
    if name == "eps" and any(v <= 0 for v in values):
        raise ConfigError(f"eps values must be > 0, got {raw!r}")
    return name, values


def run_sweep(model: AVModel, dataset: AVDataset, attacks: Sequence[str], sweep: str, *,
              threat: ThreatModel | None = None, steps: int | None = None, restarts: int | None = None, seed: int = 0,
              indices: torch.Tensor | None = None, batch_size: int = 64, show_progress: bool = False,
              precision: str = "fp32") -> SweepResult:
    """The white-box cascade of ``attacks`` once per value of ``sweep``: each attack's robust accuracy and
    ASR per value, with the budgets and steps used."""
    name, values = parse_sweep(sweep)
    if not attacks:
        raise ConfigError("--sweep needs attacks to sweep; add --attack")
    base = threat or ThreatModel()
    if name == "eps" and base.video.eps <= 0:
        raise ConfigError("an eps sweep scales the video budget, which is 0 here; give --eps-video")
    out = SweepResult(parameter=name, values=values)
    for v in values:
        t = base.scaled(v / base.video.eps) if name == "eps" else base
        built = build_attacks(attacks, t, steps=int(v) if name == "steps" else steps, restarts=restarts, seed=seed)
        ran = cascade.run_cascade(model, dataset, built, batch_size=batch_size, indices=indices,
                                  show_progress=show_progress, precision=precision)
        out.video_eps.append(t.video.eps)
        out.audio_eps.append(t.audio.eps)
        out.steps.append({a.label: a.steps for a in built})
        for label, r in ran.attacks.items():
            curve = out.attacks.setdefault(label, SweepCurve())
            curve.robust_accuracy.append(r.robust_accuracy)
            curve.attack_success_rate.append(r.attack_success_rate)
    return out


def eps_curve(model: AVModel, dataset: AVDataset, threat: ThreatModel, scales: Sequence[float], steps: int, *,
              seed: int = 0, indices: torch.Tensor | None = None, batch_size: int = 64, precision: str = "fp32",
              at_one: torch.Tensor | None = None) -> EpsCurve:
    """APGD-CE's robust accuracy (``steps`` steps) with ``threat``'s budgets scaled by each of ``scales``.

    Scales up to 1 attack every clip. A clip fooled at a scale is fooled at every larger one (the same
    perturbation lies inside the larger budget), so a scale above 1 attacks only the clips still robust at
    the next smaller scale and counts the others as fooled: exact, not an estimate, and a model at 0 % has
    nothing left to attack. ``at_one``: the per-clip robust flags ``[n]`` of an APGD-CE already run at scale
    1 on these clips (the card's cascade, at the protocol's steps), used as the 1x point instead of a run.
    """
    start = time.perf_counter()
    idx = torch.arange(len(dataset)) if indices is None else indices
    accuracy, attacked, below = {}, {}, None
    for scale in sorted(scales):
        if scale == 1.0 and at_one is not None:
            flags, ran_on = at_one.clone(), 0
        else:
            subset = torch.ones(len(idx), dtype=torch.bool) if scale <= 1.0 or below is None else below
            flags, ran_on = torch.zeros(len(idx), dtype=torch.bool), int(subset.sum())
            if ran_on:
                (attack,) = build_attacks([f"apgd-ce:steps={steps}"], threat.scaled(scale), seed=seed)
                ran = cascade.run_cascade(model, dataset, [attack], batch_size=batch_size, indices=idx[subset],
                                          precision=precision)
                flags[subset] = ran.robust
        if scale >= 1.0:
            below = flags
        accuracy[scale], attacked[scale] = float(flags.sum()) / max(len(idx), 1), ran_on
    return EpsCurve(scales=list(scales), robust_accuracy=[accuracy[s] for s in scales],
                    attacked=[attacked[s] for s in scales], seconds=round(time.perf_counter() - start, 3))
