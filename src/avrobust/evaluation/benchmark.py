"""The standard robustness benchmark for audio-visual models: AutoAttack's protocol, per threat model.

For each threat model (video only, audio only, both; L-inf at the default budgets and L2 at
:func:`l2_budgets`) the benchmark runs a fixed cascade, each attack only on the clips still robust:
APGD-CE, APGD-T (targeted DLR over the top wrong classes), then the score-based Square attack, which
reads no gradient. Before attacking it checks whether the model is randomised (two passes on the same
clips disagree) and then gives every gradient attack EOT over 20 passes (AutoAttack's ``rand``
version). It ends with the final check of every perturbation's norm (the engine's) and these flags:

* ``gradient-free``: Square fools clips the gradient attacks left robust (gradient masking);
* ``transfer``: an attack crafted on an undefended twin (``twin=``) beats the white-box attacks (it
  enters the worst case too);
* ``zero-gradients``: input gradients are exactly zero for some clips;
* ``eps``: APGD-CE's robust accuracy (threat models on both modalities) rises somewhere as the budget
  grows (x0.5 ... x4), or does not fall from x0.5 to x4;
* ``randomised``: the model's outputs vary between passes (EOT was used).

The result is a model card (:class:`~avrobust.results.BenchmarkResult`); cards merge into a leaderboard.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.attacks.threat import DEFAULT_AUDIO_EPS, DEFAULT_VIDEO_EPS
from avrobust.data import AVDataset
from avrobust.device import describe
from avrobust.errors import ConfigError
from avrobust.evaluation.clean import clean_counts
from avrobust.evaluation.masking import zero_gradient_share
from avrobust.evaluation.robust import robust_evaluation, transfer_robustness
from avrobust.models.classifier import eval_mode
from avrobust.models.interface import AVModel, model_device
from avrobust.results.benchmark import BenchmarkResult, CascadeStep, EpsCurve, ThreatResult
from avrobust.version import __version__

#: L2 radius over L-inf radius times sqrt(dimensions): CIFAR-10's standard pair, 0.5 against 8/255 over 3072
L2_RATIO = 0.5 / (8 / 255 * math.sqrt(3072))
THREATS = ("linf-video", "linf-audio", "linf-both", "l2-video", "l2-audio", "l2-both")
MODALITIES = {"video": ("video",), "audio": ("audio",), "both": ("video", "audio")}


@dataclass(frozen=True)
class Protocol:
    """One version of the cascade: steps of the APGDs, targets of APGD-T, Square's queries, EOT passes."""

    name: str
    apgd_steps: int
    targets: int | None
    queries: int
    eot: int = 20
    eps_scales: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    eps_steps: int = 20

    def summary(self) -> str:
        """One line: the attacks and their settings."""
        return (f"APGD-CE and APGD-T ({self.apgd_steps} steps, {self.targets or 'min(9, K - 1)'} targets), Square "
                f"({self.queries} queries), EOT over {self.eot} passes for randomised models")

    def attacks(self, randomised: bool) -> list[str]:
        eot = f",eot={self.eot}" if randomised else ""
        targets = f",targets={self.targets}" if self.targets else ""
        return [f"apgd-ce:steps={self.apgd_steps}{eot}", f"apgd-t:steps={self.apgd_steps}{targets}{eot}",
                f"square:steps={self.queries}"]


#: ``standard`` is AutoAttack's (100 APGD steps, 9 targets or K - 1, Square with 5000 queries);
#: ``quick`` (20 steps, 3 targets, 500 queries) for a first look; cards say which they used
PROTOCOLS = {"standard": Protocol("standard", 100, None, 5000), "quick": Protocol("quick", 20, 3, 500, eot=5)}


def l2_budgets(dataset: AVDataset) -> tuple[float, float]:
    """The L2 budgets of a clip's video and audio: the L-inf defaults times sqrt(dimensions) times
    :data:`L2_RATIO` (for 8 frames of 32 px and 1 s at 8 kHz: about 1.41 and 0.26)."""
    video_dims = math.prod(dataset.video.shape[1:])
    audio_dims = dataset.audio.shape[1]
    return L2_RATIO * DEFAULT_VIDEO_EPS * math.sqrt(video_dims), L2_RATIO * DEFAULT_AUDIO_EPS * math.sqrt(audio_dims)


def threat_model(name: str, dataset: AVDataset) -> ThreatModel:
    """The budgets of threat model ``name`` (``linf-both``...) on ``dataset``'s clips."""
    if name not in THREATS:
        raise ConfigError(f"unknown threat model {name!r}; valid choices: {', '.join(THREATS)}")
    norm, which = name.split("-")
    if norm == "linf":
        return ThreatModel.build(MODALITIES[which])
    ev, ea = l2_budgets(dataset)
    return ThreatModel.build(MODALITIES[which], norm_video="l2", norm_audio="l2", eps_video=ev, eps_audio=ea)


def is_randomised(model: AVModel, dataset: AVDataset, clips: int = 8) -> bool:
    """Whether two forward passes on the same clips disagree (a randomised defence)."""
    batch, _ = dataset.batch(torch.arange(min(clips, len(dataset))))
    batch = batch.to(model_device(model))
    with eval_mode(model), torch.no_grad():
        a, b = (model(batch.video, batch.audio).logits for _ in range(2))
    return not torch.equal(a, b)


def run_benchmark(model: AVModel, dataset: AVDataset, protocol: str | Protocol = "standard", *,
                  threats: Sequence[str] = THREATS, indices: torch.Tensor | None = None, seed: int = 0,
                  twin: AVModel | None = None, batch_size: int = 64, precision: str = "fp32",
                  show_progress: bool = False, model_name: str = "", checkpoint: str = "",
                  twin_name: str | None = None) -> BenchmarkResult:
    """The model card of ``model`` on ``dataset`` (the clips at ``indices``; default all): the randomness
    check, the zero-gradient share, then per threat model the cascade, its flags and its cost.

    ``twin``: an undefended model of the same task; an attack crafted on it and transferred enters the
    flags (it never enters the robust accuracy, which is the white-box cascade's).
    """
    proto = protocol if isinstance(protocol, Protocol) else protocol_named(protocol)
    unknown = [t for t in threats if t not in THREATS]
    if unknown or not threats:
        raise ConfigError(f"unknown threat model {', '.join(unknown) or '(none)'}; valid choices: {', '.join(THREATS)}")
    idx = torch.arange(len(dataset)) if indices is None else indices
    start = time.perf_counter()
    randomised = is_randomised(model, dataset)
    clean = clean_counts(model, dataset, batch_size, indices=idx, precision=precision)
    zero = zero_gradient_share(model, dataset, indices=idx, batch_size=batch_size, precision=precision)
    results, flags = {}, []
    for name in threats:
        begun = time.perf_counter()
        result = run_threat(model, dataset, name, proto, indices=idx, randomised=randomised, seed=seed, twin=twin,
                            batch_size=batch_size, precision=precision, show_progress=show_progress)
        result.seconds = round(time.perf_counter() - begun, 3)
        results[name] = result
        flags += flags_of(name, result, len(idx))
    flags += [f"zero-gradients: the {m} input gradient is exactly zero for {s:.1%} of the clips"
              for m, s in zero.items() if s > 0]
    if randomised:
        flags.append("randomised: two passes on the same clips disagree; the gradient attacks used EOT over "
                     f"{proto.eot} passes")
    seconds = time.perf_counter() - start
    missing = clean.metrics()
    return BenchmarkResult(
        model=model_name, checkpoint=checkpoint, data=dataset.spec, split=dataset.split, n=len(idx),
        protocol=proto.name, attacks=proto.attacks(randomised), clean_accuracy=clean.correct / max(clean.n, 1),
        randomised=randomised, zero_gradient_share=zero, threats=results, flags=flags, twin=twin_name,
        seed=seed, seconds=round(seconds, 3), seconds_per_clip=round(seconds / max(len(idx), 1), 4),
        device=describe(model_device(model)), precision=precision, versions=versions(),
        no_audio_accuracy=missing.get("no_audio_accuracy"), no_video_accuracy=missing.get("no_video_accuracy"))


def protocol_named(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {name!r}; valid choices: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def versions() -> dict[str, str]:
    """The software a card was measured with."""
    return {"avrobust": __version__, "torch": torch.__version__, "python": platform.python_version()}


def run_threat(model: AVModel, dataset: AVDataset, name: str, protocol: Protocol, *, indices: torch.Tensor,
               randomised: bool, seed: int, twin: AVModel | None, batch_size: int, precision: str,
               show_progress: bool) -> ThreatResult:
    """The cascade on one threat model (each attack only on the clips still robust), the twin's transfer
    and, for the threat models on both modalities, APGD-CE's robust accuracy as the budget grows."""
    threat = threat_model(name, dataset)
    n = len(indices)
    robust: torch.Tensor | None = None  # per clip: right when clean and robust to every attack so far
    clean = torch.zeros(n, dtype=torch.bool)
    steps = []
    for spec in protocol.attacks(randomised):
        (attack,) = build_attacks([spec], threat, seed=seed)
        alive = indices if robust is None else indices[robust]
        begun = time.perf_counter()
        fooled = 0
        if len(alive):
            cascade = robust_evaluation(model, dataset, [attack], batch_size=batch_size, indices=alive,
                                        show_progress=show_progress, precision=precision)
            flags = cascade.attacks[attack.label].robust_flags
            if robust is None:
                clean, robust = cascade.clean.clone(), flags.clone()
                fooled = int(clean.sum()) - int(robust.sum())
            else:
                fooled = len(alive) - int(flags.sum())
                robust[robust.clone()] = flags
        steps.append(CascadeStep(attack=attack.describe()["attack"], spec=spec, attacked=len(alive), fooled=fooled,
                                 robust_accuracy=_share(robust), seconds=round(time.perf_counter() - begun, 3)))
    assert robust is not None
    result = ThreatResult(budget=threat.describe(), clean_accuracy=_share(clean), robust_accuracy=_share(robust),
                          cascade=steps, robust_flags=robust)
    if twin is not None:  # like every attack, the transferred one enters the worst case
        (moved,) = build_attacks([TWIN_ATTACK], threat, seed=seed)
        transferred = transfer_robustness(model, twin, dataset, moved, indices=indices, batch_size=batch_size,
                                          precision=precision)
        result.twin_robust_accuracy = transferred.robust_accuracy
        result.robust_flags = robust & transferred.robust_flags
        result.robust_accuracy = _share(result.robust_flags)
    if name.endswith("both"):
        result.eps_curve = eps_curve(model, dataset, threat, protocol, indices, seed, batch_size, precision)
    return result


#: crafted on the undefended twin and transferred (momentum transfers best of the standard attacks)
TWIN_ATTACK = "mifgsm:steps=10"


def _share(flags: torch.Tensor | None) -> float:
    return float(flags.sum()) / max(len(flags), 1) if flags is not None else 0.0


def eps_curve(model: AVModel, dataset: AVDataset, threat: ThreatModel, protocol: Protocol, indices: torch.Tensor,
              seed: int, batch_size: int, precision: str) -> EpsCurve:
    """APGD-CE's robust accuracy at each budget scale of the protocol."""
    accuracies = []
    for scale in protocol.eps_scales:
        (attack,) = build_attacks([f"apgd-ce:steps={protocol.eps_steps}"], threat.scaled(scale), seed=seed)
        cascade = robust_evaluation(model, dataset, [attack], batch_size=batch_size, indices=indices,
                                    precision=precision)
        accuracies.append(cascade.attacks[attack.label].robust_accuracy)
    return EpsCurve(scales=list(protocol.eps_scales), robust_accuracy=accuracies)


def flags_of(threat: str, result: ThreatResult, n: int) -> list[str]:
    """The warnings of one threat model's result (see the module docstring).

    Square's flag needs more than one clip and more than 1 % of the clips (a robust model may lose a
    clip or two to it, as in AutoAttack's tables); the others, a difference of more than one clip.
    """
    tol, lines = 1.0 / max(n, 1), []
    square = next((s for s in result.cascade if s.attack == "square"), None)
    if square is not None and square.fooled > max(1, 0.01 * n):
        lines.append(f"gradient-free: on {threat}, Square fooled {square.fooled} of the {square.attacked} clips "
                     "the gradient attacks left robust (gradient masking?)")
    white = result.white_box_accuracy()
    twin = result.twin_robust_accuracy
    if twin is not None and twin < white - tol:
        lines.append(f"transfer: on {threat}, an attack crafted on the undefended twin leaves {twin:.3f}, below the "
                     f"white-box attacks' {white:.3f} (gradient masking?)")
    curve = result.eps_curve
    if curve is not None:
        acc = curve.robust_accuracy
        rises = any(b > a + tol for a, b in zip(acc, acc[1:]))
        if rises or (acc[0] > tol and acc[-1] >= acc[0] - tol):
            lines.append(f"eps: on {threat}, APGD-CE's robust accuracy at budget scales "
                         f"{', '.join(f'{s:g}' for s in curve.scales)} is {', '.join(f'{a:.3f}' for a in acc)} "
                         "(it should fall as the budget grows)")
    return lines
