"""The model card: the standard robustness benchmark for audio-visual models, AutoAttack's protocol per
threat model.

For each threat model (video only, audio only, both; L-inf at the default budgets and L2 at
:func:`l2_budgets`) the card runs a registered protocol (:mod:`~avrobust.evaluation.suites`: APGD-CE,
APGD-T, then the score-based Square attack, which reads no gradient) through THE cascade
(:func:`~avrobust.evaluation.cascade.run_cascade`, shrinking: each attack only on the clips still
robust), then the eps curve (:func:`~avrobust.evaluation.curves.eps_curve`: its 1x point is the cascade's
own APGD-CE, the larger budgets attack only the clips still robust) on the threat models of both
modalities and the masking flags (:func:`~avrobust.evaluation.masking.card_flags`). Before
attacking it checks whether the model is randomised (two passes on the same clips disagree) and then
gives every gradient attack EOT (AutoAttack's ``rand`` version). An attack crafted on an undefended
``twin`` and transferred enters the worst case and the flags. The engine checks every perturbation's
norm before the card reports it. The card records each stage's seconds (``stage_seconds``, and per threat
model each attack's, the eps curve's and the twin's).

Beside the attacks the card can hold three more sections: accuracy under natural corruptions
(``corruptions``: names from :mod:`avrobust.corruptions`, on the pair and each half, with mCE against a
reference card), under failing modalities (``failures``) and certified accuracy (``certifiers``, from
:mod:`avrobust.certification`); with one of them the threat models may be left out.

The result is a model card (:class:`~avrobust.results.BenchmarkResult`); cards merge into a leaderboard.
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.certification import Certifier, certify_model
from avrobust.corruptions import corruption_names
from avrobust.attacks.threat import DEFAULT_AUDIO_EPS, DEFAULT_VIDEO_EPS
from avrobust.data import AVDataset
from avrobust.device import describe
from avrobust.errors import ConfigError
from avrobust.checkpoint import tensor_digest
from avrobust.distributed import context
from avrobust.evaluation import cascade
from avrobust.evaluation.clean import clean_counts
from avrobust.evaluation.corruption_accuracy import corruption_accuracy
from avrobust.evaluation.curves import eps_curve
from avrobust.evaluation.masking import card_flags, model_flags, zero_gradient_share
from avrobust.evaluation.suites import Protocol, protocol_named
from avrobust.io import write_json
from avrobust.models.classifier import eval_mode
from avrobust.models.interface import AVModel, model_device
from avrobust.results.benchmark import BenchmarkResult, CascadeStep, ThreatResult
from avrobust.results.corruption import CorruptionResult
from avrobust.version import __version__

#: L2 radius over L-inf radius times sqrt(dimensions): CIFAR-10's standard pair, 0.5 against 8/255 over 3072
L2_RATIO = 0.5 / (8 / 255 * math.sqrt(3072))
THREATS = ("linf-video", "linf-audio", "linf-both", "l2-video", "l2-audio", "l2-both")
MODALITIES = {"video": ("video",), "audio": ("audio",), "both": ("video", "audio")}
#: crafted on the undefended twin and transferred (momentum transfers best of the standard attacks)
TWIN_ATTACK = "mifgsm:steps=10"


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
                  twin_name: str | None = None, progress_file: str | Path | None = None,
                  corruptions: Sequence[str] = (), failures: bool = False, certifiers: Sequence[Certifier] = (),
                  reference: CorruptionResult | None = None, reference_name: str = "",
                  noise_dir: str | Path | None = None) -> BenchmarkResult:
    """The model card of ``model`` on ``dataset`` (the clips at ``indices``; default all): the randomness
    check, the zero-gradient share, then per threat model the cascade, its flags and its cost.

    ``protocol``: a registered protocol's name (``standard``, ``quick``) or a :class:`Protocol`. ``twin``: an
    undefended model of the same task; an attack crafted on it and transferred enters the worst case and
    the flags. ``progress_file``: finished threat models are kept there (and the cascade in flight beside
    it), so a rerun of the same card continues where it stopped; removed at the end. ``corruptions``:
    corruption names (``["all"]``: every one); ``failures``: every failing modality; ``certifiers``: one
    certified section each; ``reference``: a card's corruption section to compute mCE against;
    ``noise_dir``: recordings for the sound beds.
    """
    proto = protocol if isinstance(protocol, Protocol) else protocol_named(protocol)
    unknown = [t for t in threats if t not in THREATS]
    extra = bool(corruptions) or failures or bool(certifiers)
    if unknown or not (threats or extra):
        raise ConfigError(f"unknown threat model {', '.join(unknown) or '(none)'}; valid choices: {', '.join(THREATS)}")
    idx = torch.arange(len(dataset)) if indices is None else indices
    start = time.perf_counter()
    randomised = is_randomised(model, dataset)
    clean = clean_counts(model, dataset, batch_size, indices=idx, precision=precision)
    zero = (zero_gradient_share(model, dataset, indices=idx, batch_size=batch_size, precision=precision)
            if threats else {})  # a masking check: only the attacks need it
    stage_seconds = {"checks": round(time.perf_counter() - start, 3)}
    path = Path(progress_file) if progress_file is not None and not context().enabled else None
    key = None if path is None else {"model": tensor_digest(model.state_dict()), "indices": idx.tolist(), "seed": seed,
                                     "protocol": repr(proto), "batch_size": batch_size, "precision": precision,
                                     "twin": None if twin is None else tensor_digest(twin.state_dict())}
    results = _finished(path, key)
    for name in threats:
        if name in results:
            continue
        begun = time.perf_counter()
        result = run_threat(model, dataset, name, proto, indices=idx, randomised=randomised, seed=seed, twin=twin,
                            batch_size=batch_size, precision=precision, show_progress=show_progress,
                            progress_file=None if path is None else path.with_name(f"{path.name}.{name}"))
        result.seconds = round(time.perf_counter() - begun, 3)
        results[name] = result
        if path is not None:
            write_json(path, {"key": key, "threats": results})
    results = {name: results[name] for name in threats}
    stage_seconds.update({name: results[name].seconds for name in threats})
    flags = [line for name in threats for line in card_flags(name, results[name], len(idx))]
    flags += model_flags(zero, randomised, proto.eot)
    if path is not None:
        path.unlink(missing_ok=True)
    common = dict(indices=idx, seed=seed, model_name=model_name, checkpoint=checkpoint)
    natural = failed = None
    begun = time.perf_counter()
    if corruptions:
        natural = corruption_accuracy(model, dataset, corruption_names(corruptions), batch_size=batch_size,
                                      precision=precision, noise_dir=noise_dir, show_progress=show_progress, **common)
        if reference is not None:
            natural.compare(reference, reference_name or "the reference")
        stage_seconds["corruptions"], begun = round(time.perf_counter() - begun, 3), time.perf_counter()
    if failures:
        failed = corruption_accuracy(model, dataset, corruption_names(failures=True), failures=True, modalities=("both",),
                                     batch_size=batch_size, precision=precision, show_progress=show_progress, **common)
        stage_seconds["failures"], begun = round(time.perf_counter() - begun, 3), time.perf_counter()
    certified = [certify_model(model, dataset, c, show_progress=show_progress, **common) for c in certifiers]
    if certifiers:
        stage_seconds["certified"] = round(time.perf_counter() - begun, 3)
    seconds = time.perf_counter() - start
    missing = clean.metrics()
    return BenchmarkResult(
        model=model_name, checkpoint=checkpoint, data=dataset.spec, split=dataset.split, n=len(idx),
        protocol=proto.name, attacks=proto.attacks(randomised), clean_accuracy=clean.correct / max(clean.n, 1),
        randomised=randomised, zero_gradient_share=zero, threats=results, flags=flags, twin=twin_name,
        seed=seed, seconds=round(seconds, 3), seconds_per_clip=round(seconds / max(len(idx), 1), 4),
        device=describe(model_device(model)), precision=precision, versions=versions(),
        no_audio_accuracy=missing.get("no_audio_accuracy"), no_video_accuracy=missing.get("no_video_accuracy"),
        corruptions=natural, failures=failed, certified=certified, stage_seconds=stage_seconds)


def _finished(path: Path | None, key: dict[str, object] | None) -> dict[str, ThreatResult]:
    """The threat models a saved run of the same card finished."""
    if path is None or not path.exists():
        return {}
    saved = json.loads(path.read_text())
    if saved.get("key") != key:
        return {}
    return {name: ThreatResult.from_dict(r) for name, r in saved["threats"].items()}


def versions() -> dict[str, str]:
    """The software a card was measured with."""
    return {"avrobust": __version__, "torch": torch.__version__, "python": platform.python_version()}


def run_threat(model: AVModel, dataset: AVDataset, name: str, protocol: Protocol, *, indices: torch.Tensor,
               randomised: bool, seed: int, twin: AVModel | None, batch_size: int, precision: str,
               show_progress: bool, progress_file: str | Path | None = None) -> ThreatResult:
    """The cascade on one threat model (each attack only on the clips still robust), the twin's transfer
    and, for the threat models on both modalities, APGD-CE's robust accuracy as the budget grows."""
    threat = threat_model(name, dataset)
    specs = protocol.attacks(randomised)
    attacks = build_attacks(specs, threat, seed=seed)
    ran = cascade.run_cascade(model, dataset, attacks, shrink=True, indices=indices, batch_size=batch_size,
                              show_progress=show_progress, progress_file=progress_file, precision=precision)
    steps = [CascadeStep(attack=a.name, spec=spec, attacked=s.attacked, fooled=s.fooled,
                         robust_accuracy=_share(s.robust), seconds=round(s.seconds, 3))
             for a, spec, s in zip(attacks, specs, ran.steps)]
    robust = ran.robust
    result = ThreatResult(budget=threat.describe(), clean_accuracy=_share(ran.clean), robust_accuracy=_share(robust),
                          cascade=steps, robust_flags=robust)
    if twin is not None:  # like every attack, the transferred one enters the worst case
        begun = time.perf_counter()
        (moved,) = build_attacks([TWIN_ATTACK], threat, seed=seed)
        transferred = cascade.transfer_robustness(model, twin, dataset, moved, indices=indices,
                                                  batch_size=batch_size, precision=precision)
        result.twin_robust_accuracy = transferred.robust_accuracy
        result.robust_flags = robust & transferred.robust_flags
        result.robust_accuracy = _share(result.robust_flags)
        result.twin_seconds = round(time.perf_counter() - begun, 3)
    if name.endswith("both"):  # the 1x point is the cascade's own APGD-CE (its first attack), not a second run
        at_one = ran.steps[0].robust if attacks and attacks[0].name == "apgd-ce" else None
        result.eps_curve = eps_curve(model, dataset, threat, protocol.eps_scales, protocol.eps_steps, seed=seed,
                                     indices=indices, batch_size=batch_size, precision=precision, at_one=at_one)
    return result


def _share(flags: torch.Tensor) -> float:
    return float(flags.sum()) / max(len(flags), 1)
