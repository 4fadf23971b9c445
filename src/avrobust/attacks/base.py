"""The attack call protocol: the :class:`Attack` base class and the helpers its subclasses share.

An attack is built with :func:`~avrobust.attacks.factory.create_attack` and called as
``attack(model, batch, labels) -> AVBatch`` (adversarial, same shapes, within budget and range).
The call puts the model in eval mode and restores its mode; randomness comes only from the
attack's ``seed`` or a ``generator`` passed to the call; no global state is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from avrobust.attacks.joint import joint_random_start, joint_step, project_joint
from avrobust.attacks.losses import get_loss
from avrobust.attacks.threat import Budget, Inputs, ThreatModel, ascent_step, project, random_start, select
from avrobust.errors import ConfigError, InputError
from avrobust.models.classifier import AVOutput, eval_mode, float32_outputs
from avrobust.types import AVBatch

def forward(model: nn.Module, x: Inputs) -> AVOutput:
    """The model's outputs on ``x``, in float32 even when the pass ran under autocast."""
    return float32_outputs(model(x["video"], x["audio"]))


class Attack:
    """Base class. Subclasses implement :meth:`perturb` on a dict of inputs.

    Args:
        threat: budgets and attacked modalities (default :class:`ThreatModel`).
        steps: iterations (>= 1).
        loss: ``ce`` or ``dlr`` (maximised).
        targeted: if True, the call needs ``target`` labels and the attack pulls towards them.
        random_start: start from a uniform point of the ball.
        restarts: independent runs; a clip keeps the first run that fools the model.
        seed: seeds the attack's own generator when the call passes none.
        eot: expectation over transformation for randomised models: every input gradient is the mean of
            ``eot`` forward and backward passes (1: one pass).
    """

    name = ""  # set by the registry: @register_attack("name")
    #: takes a joint L2 budget over both modalities (:mod:`avrobust.attacks.joint`); the others refuse one
    joint_capable = False
    #: what the attack is, for listings and checks: ``gradient-free`` (reads scores, never a gradient: a
    #: masking check), ``white-box`` (made to beat the model it is crafted on), ``transfer`` (made to
    #: transfer from a surrogate to black-box victims), ``paper`` (the paper's own)
    traits: ClassVar[frozenset[str]] = frozenset()
    #: the default selections the attack belongs to, each with the spec options of its entries ("" for the
    #: attack's defaults): ``transfer`` (the transfer matrix), ``defence`` (the defence suite),
    #: ``autoattack`` (the benchmark's cascade), ``ablation``, ``standard`` (the demo's white-box table),
    #: ``demo`` (the demo's defence evaluation) and the analyses' names; every default list is generated
    #: from these (:func:`~avrobust.attacks.factory.default_attacks`)
    defaults: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: the attack's place in generated lists: one-step, iterative, momentum, AutoAttack's, the paper's
    rank: ClassVar[int] = 1000

    def __init__(self, threat: ThreatModel | None = None, *, steps: int = 10, loss: str = "ce",
                 targeted: bool = False, random_start: bool = False, restarts: int = 1, seed: int = 0,
                 eot: int = 1) -> None:
        self.threat = threat or ThreatModel()
        if not isinstance(self.threat, ThreatModel):
            raise ConfigError("threat must be a ThreatModel")
        if int(steps) != steps or steps < 1:
            raise ConfigError(f"{self.name}: steps must be an integer >= 1, got {steps}")
        if int(restarts) != restarts or restarts < 1:
            raise ConfigError(f"{self.name}: restarts must be an integer >= 1, got {restarts}")
        if int(eot) != eot or eot < 1:
            raise ConfigError(f"{self.name}: eot must be an integer >= 1, got {eot}")
        self.steps, self.restarts, self.seed, self.eot = int(steps), int(restarts), int(seed), int(eot)
        self.loss_name, self.loss_fn = loss, get_loss(loss)
        self.targeted, self.random_start = bool(targeted), bool(random_start)
        self.label = self.name  # the key in results; build_attacks sets it to the spec
        if self.threat.joint_l2 is not None and not self.joint_capable:
            raise ConfigError(f"{self.name} does not take a joint L2 budget over both modalities; use fgsm (FGM), "
                              "ifgsm or pgd, or per-modality budgets")

    # ---- configuration -------------------------------------------------------------------------
    def default_step(self, budget: Budget) -> float:
        """Step size when the budget gives none (override per attack)."""
        return budget.eps / self.steps

    def step_size(self, modality: str) -> float:
        budget = self.threat.budget(modality)
        return budget.step if budget.step is not None else self.default_step(budget)

    def options(self) -> dict[str, Any]:
        """Attack-specific hyper-parameters for reports (override to add)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """JSON-ready description: budgets with resolved step sizes, steps, modalities, options."""
        steps = {m: self.step_size(m) for m in ("video", "audio")}
        desc = self.threat.describe(steps)
        return {"attack": self.name, "budget": {"video": desc["video"], "audio": desc["audio"]},
                "modalities": desc["modalities"], "steps": self.steps, "restarts": self.restarts,
                "loss": self.loss_name, "targeted": self.targeted, "random_start": self.random_start,
                "options": {**self.options(), **({"eot": self.eot} if self.eot > 1 else {})}}

    _init: Inputs | None = None  # the current call's starting point (set by __call__ only)

    # ---- the call ------------------------------------------------------------------------------
    def __call__(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor, *,
                 target: torch.Tensor | None = None, generator: torch.Generator | None = None,
                 init: AVBatch | None = None) -> AVBatch:
        """Return adversarial clips for ``batch`` (``labels``: ``[N]`` true classes). ``init``: clips of
        the same shape the iterative attacks start from (projected onto the ball) instead of ``batch``
        or a random start, e.g. a perturbation carried over from an earlier epoch."""
        batch.validate()
        if init is not None and (init.video.shape != batch.video.shape or init.audio.shape != batch.audio.shape):
            raise InputError("init must have the shapes of the batch it starts the attack on")
        self._init = None if init is None else {"video": init.video.detach(), "audio": init.audio.detach()}
        try:
            return self._run(model, batch, labels, target, generator)
        finally:
            self._init = None

    def _run(self, model: nn.Module, batch: AVBatch, labels: torch.Tensor, target: torch.Tensor | None,
             generator: torch.Generator | None) -> AVBatch:
        labels = labels.to(batch.video.device)
        if labels.shape != (batch.size,):
            raise InputError(f"labels must have shape [{batch.size}], got {tuple(labels.shape)}")
        if self.targeted and target is None:
            raise InputError(f"{self.name} is targeted: pass target labels")
        if target is not None:
            target = target.to(labels.device)
        if generator is None:
            generator = torch.Generator(device=batch.video.device)
            generator.manual_seed(self.seed)
        x = {"video": batch.video.detach(), "audio": batch.audio.detach()}
        with eval_mode(model), torch.enable_grad():
            best = self.perturb(model, x, labels, target, generator)
            for _ in range(self.restarts - 1):
                with torch.no_grad():
                    fooled = self.fooled(forward(model, best), labels, target)
                if bool(fooled.all()):
                    break
                cand = self.perturb(model, x, labels, target, generator)
                best = {m: select(fooled, best[m], cand[m]) for m in best}
        out = {m: (project(best[m], x[m], self.threat.budget(m)) if m in self.threat.modalities else x[m]).detach()
               for m in x} if self.threat.joint_l2 is None else project_joint(best, x, self.threat)
        return batch.with_inputs(out["video"], out["audio"])

    def perturb(self, model: nn.Module, x: Inputs, labels: torch.Tensor, target: torch.Tensor | None,
                generator: torch.Generator) -> Inputs:
        """One run of the attack from clean inputs ``x``; returns adversarial inputs."""
        raise NotImplementedError

    # ---- helpers for subclasses ----------------------------------------------------------------
    def fooled(self, out: AVOutput, labels: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        pred = out.logits.argmax(1)
        return pred == target if self.targeted and target is not None else pred != labels

    def objective(self, out: AVOutput, labels: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        """The scalar to maximise: the batch mean of the per-sample loss."""
        return self.loss_fn(out, labels, target if self.targeted else None).mean()

    def gradient(self, model: nn.Module, adv: Inputs, labels: torch.Tensor,
                 target: torch.Tensor | None) -> Inputs:
        """Gradient of :meth:`objective` with respect to the attacked modalities at ``adv``."""
        mods = self.threat.modalities
        inp = {m: adv[m].detach().requires_grad_(m in mods) for m in adv}
        grads = self.input_grads(lambda: self.objective(forward(model, inp), labels, target), [inp[m] for m in mods])
        return dict(zip(mods, grads))

    def input_grads(self, value: Callable[[], torch.Tensor], inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Gradients of the scalar ``value()`` with respect to ``inputs``, the mean over ``eot`` evaluations (each
        its own forward pass, so a randomised model draws anew; one evaluation when ``eot`` is 1)."""
        total = list(torch.autograd.grad(value(), list(inputs)))
        for _ in range(self.eot - 1):
            total = [t + g for t, g in zip(total, torch.autograd.grad(value(), list(inputs)))]
        return total if self.eot == 1 else [t / self.eot for t in total]

    def start(self, x: Inputs, generator: torch.Generator) -> Inputs:
        """Initial point: the call's ``init`` projected onto the ball, else ``x``, or a random point of
        the ball when ``random_start``."""
        if self.threat.joint_l2 is not None:
            init = self._init if self._init is not None else x
            return joint_random_start(x, self.threat, generator) if self._init is None and self.random_start \
                else project_joint({m: init[m].clone() for m in x}, x, self.threat)
        if self._init is not None:
            return {m: (project(self._init[m], x[m], self.threat.budget(m)) if m in self.threat.modalities
                        else x[m].clone()) for m in x}
        return {m: (random_start(x[m], self.threat.budget(m), generator)
                    if self.random_start and m in self.threat.modalities else x[m].clone()) for m in x}

    def update(self, adv: Inputs, x: Inputs, direction: Inputs) -> Inputs:
        """A projected ascent step of each attacked modality along ``direction``."""
        if self.threat.joint_l2 is not None:
            moved = joint_step(adv, direction, self.step_size("video"))
            return {m: v.detach() for m, v in project_joint(moved, x, self.threat).items()}
        new = dict(adv)
        for m in self.threat.modalities:
            b = self.threat.budget(m)
            new[m] = project(ascent_step(adv[m], direction[m], b, self.step_size(m)), x[m], b).detach()
        return new
