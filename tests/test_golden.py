"""Golden results: a small training run, evaluation and transfer matrix give the same JSON as the one
saved before the redesign of the upper layers (issue 16), field for field.

Everything runs in float64, so the results do not depend on the machine's arithmetic (float32 sums in
another order can move a clip across a decision boundary); timings and paths are left out. Every saved
field must be there (new ones may be added); counts and flags must match exactly, other numbers to a relative 1e-4 (a sign that one summation order rounds to
zero can still move one pixel of a perturbation, which moves PSNR in the fifth digit).
Regenerate (only when a change of results is intended, and say so in the commit):
``python -m tests.test_golden --write``.
"""

from __future__ import annotations

import pytest

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.data import AVDataset, load_dataset
from avrobust.defences import TrainConfig, create_method, train
from avrobust.evaluation import EvaluationPlan, evaluate_classifier
from avrobust.evaluation.transfer_matrix import Member, transfer_matrix
from avrobust.io import json_text
from avrobust.models import create_model
from avrobust.seeding import seed_everything
from avrobust.specs import parse_spec

GOLDEN = Path(__file__).parent / "golden"
SPEC = "synth:classes=4,clips_per_class=6,eval_clips_per_class=3,frames=4,size=16,seconds=0.5"
EPOCHS = 6
THREAT = ThreatModel.build(eps_video=16 / 255, eps_audio=0.05)  # large enough that some clips fall, some hold
DROP = {"schema_version", "seconds", "seconds_per_epoch", "total_train_seconds", "run_dir", "checkpoint", "sources", "surrogates"}


def _double(dataset: AVDataset) -> AVDataset:
    return AVDataset(dataset.video.double(), dataset.audio.double(), dataset.labels, dataset.class_names,
                     dataset.fps, dataset.sample_rate, dataset.spec, dataset.split, dataset.extras)


def _model(name: str, seed: int, train_set: AVDataset, val_set: AVDataset, run_dir: Path, method: str) -> tuple[torch.nn.Module, dict]:
    seed_everything(seed)
    model = create_model(name, train_set.num_classes, train_set.sample_rate).double()
    summary = train(model, train_set, val_set, TrainConfig(epochs=EPOCHS, batch_size=8, seed=seed), run_dir,
                    method=create_method(name_of(method), **options_of(method)), meta={"model_name": name},
                    show_progress=False)
    model.eval()
    return model, summary


def name_of(spec: str) -> str:
    return parse_spec(spec)[0]


def options_of(spec: str) -> dict[str, Any]:
    return parse_spec(spec)[1]


def golden_results() -> dict[str, Any]:
    """The three results, computed now."""
    train_set, val_set, test_set = (_double(load_dataset(SPEC, s)) for s in ("train", "val", "test"))
    with tempfile.TemporaryDirectory() as tmp:
        plain, plain_summary = _model("alexnet-sum-vgg", 0, train_set, val_set, Path(tmp) / "a", "standard")
        other, avat_summary = _model("alexnet-concat-vgg", 1, train_set, val_set, Path(tmp) / "b",
                                     "avat:paper=true,steps=2")
    evaluation = evaluate_classifier(plain, train_set, EvaluationPlan(("fgsm,pgd,tma",), THREAT, steps=2), batch_size=5)
    members = [Member("AsV", plain, ("a",), {}), Member("AcV", other, ("b",), {})]
    transfer = transfer_matrix(members, members, train_set, build_attacks(["fgsm,mifgsm"], THREAT, steps=2),
                               batch_size=5)
    return {"training": {"standard": plain_summary, "avat": avat_summary}, "evaluation": evaluation,
            "transfer": transfer}


def normalise(obj: Any) -> Any:
    """JSON-ready copy without timings and paths."""
    if isinstance(obj, dict):
        return {k: normalise(v) for k, v in obj.items() if k not in DROP}
    if isinstance(obj, (list, tuple)):
        return [normalise(v) for v in obj]
    return obj


def assert_same(got: Any, want: Any, where: str = "") -> None:
    if isinstance(want, dict):  # fields added since may be there too
        assert isinstance(got, dict) and set(want) <= set(got), f"{where}: keys {sorted(got)} lack some of {sorted(want)}"
        for k in want:
            assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: length"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-7), f"{where}: {got} != {want}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


@pytest.mark.slow
def test_results_equal_the_saved_golden_json() -> None:
    results = json.loads(json_text(normalise(golden_results())))
    for name, got in results.items():
        assert_same(got, normalise(json.loads((GOLDEN / f"{name}.json").read_text())), name)


if __name__ == "__main__" and "--write" in sys.argv:
    for name, data in json.loads(json_text(normalise(golden_results()))).items():
        (GOLDEN / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
