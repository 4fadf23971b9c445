"""Each kind of plug-in is one registration: a toy dataset, attack, training method and result kind,
each registered here alone, work end to end through the command line (train, evaluate, report)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch.nn import functional as F

from avrobust.attacks import ATTACKS, register_attack
from avrobust.attacks.base import Attack
from avrobust.attacks.threat import project
from avrobust.checkpoint import save_checkpoint
from avrobust.data import DATASETS, AVDataset, Recipe, load_dataset, register_dataset
from avrobust.defences import METHODS, TrainingMethod, register_method
from avrobust.models import create_model
from avrobust.results import RESULT_KINDS, Result, Section, register_result
from avrobust.tables import Table


@dataclass(frozen=True, kw_only=True)
class ToyOptions:
    clips: int = 8
    seed: int = 0


class ToyData(Recipe):
    """Two classes told apart by brightness and loudness."""

    Options = ToyOptions

    def build(self, options: ToyOptions, split: str) -> AVDataset:
        g = torch.Generator().manual_seed(options.seed + {"train": 0, "val": 1, "test": 2}[split])
        labels = torch.arange(options.clips) % 2
        video = (0.25 + 0.5 * labels.float()).view(-1, 1, 1, 1, 1).expand(-1, 4, 3, 16, 16).clone()
        video = (video + 0.05 * torch.randn(video.shape, generator=g)).clamp(0, 1)
        audio = ((0.1 + 0.4 * labels.float()).view(-1, 1) * torch.randn(options.clips, 4 * 2000, generator=g)).clamp(-1, 1)
        return AVDataset(video, audio, labels, ["dark-quiet", "bright-loud"], 4.0, 8000, split=split)


class ToyNoise(Attack):
    """Random signs at the full budget (a toy: any registered attack runs in the engine)."""

    def perturb(self, model, x, labels, target, generator):  # noqa: ANN001, ANN201
        out = dict(x)
        for m in self.threat.modalities:
            b = self.threat.budget(m)
            noise = torch.randint(0, 2, x[m].shape, generator=generator, device=x[m].device) * 2 - 1
            out[m] = project(x[m] + b.eps * noise.to(x[m].dtype), x[m], b)
        return out


class ToySmoothing(TrainingMethod):
    """Cross-entropy with label smoothing (a toy training method)."""

    def __init__(self, *, smoothing: float = 0.1) -> None:
        self.smoothing = smoothing

    def loss(self, model, batch, labels):  # noqa: ANN001, ANN201
        return F.cross_entropy(model(batch.video, batch.audio).logits, labels, label_smoothing=self.smoothing)

    def options(self) -> dict[str, Any]:
        return {"smoothing": self.smoothing}


@dataclass(kw_only=True, eq=False)
class ToyResult(Result):
    """A toy kind: a score per thing."""

    order: ClassVar[float] = 45
    scores: dict[str, float]

    @classmethod
    def sections(cls, items: Sequence[tuple[Path, Result]], ctx: Any) -> list[Section]:
        return [Section(f"Toy scores ({p.name})", ["Scores of the toy kind."],
                        [Table(["thing", "score"], [[k, f"{v:.2f}"] for k, v in r.scores.items()])],
                        group="Toys", order=45) for p, r in items if isinstance(r, ToyResult)]


@pytest.fixture
def toys() -> Iterator[None]:
    """Register the four toys for one test, then remove them."""
    entries = [(DATASETS, register_dataset("toy"), ToyData), (ATTACKS, register_attack("toy-noise"), ToyNoise),
               (METHODS, register_method("toy-smoothing"), ToySmoothing), (RESULT_KINDS, register_result("toy"), ToyResult)]
    for _, register, obj in entries:
        register(obj)
    yield
    for registry, _, obj in entries:
        registry.remove(obj.name if registry is not RESULT_KINDS else obj.kind)


def test_a_registered_dataset_loads_with_typed_options(toys: None) -> None:
    data = load_dataset("toy:clips=6", "val")
    assert len(data) == 6 and data.spec == "toy:clips=6" and data.split == "val"
    from avrobust.errors import ConfigError

    with pytest.raises(ConfigError, match="dataset 'toy': option clips wants an integer, got 'many'"):
        load_dataset("toy:clips=many", "train")


@pytest.mark.slow
def test_toy_dataset_and_method_train_and_report(toys: None, run_cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, _, err = run_cli("train", "--data", "toy:clips=8", "--model", "AsV", "--epochs", "1", "--batch-size", "4",
                           "--method", "toy-smoothing:smoothing=0.2", "--out", run)
    assert code == 0, err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["method"] == "toy-smoothing" and summary["method_options"] == {"smoothing": 0.2}
    assert summary["data_spec"] == "toy:clips=8"
    code, _, err = run_cli("evaluate", "--checkpoint", run, "--attack", "toy-noise", "--json", tmp_path / "e.json")
    assert code == 0, err
    code, _, err = run_cli("report", run, tmp_path / "e.json", "--out", tmp_path / "report", "--examples", "0")
    assert code == 0, err
    text = (tmp_path / "report" / "report.md").read_text()
    assert "`toy:clips=8`" in text and "Method toy-smoothing" in text and "| toy-noise |" in text


def test_toy_attack_evaluates_and_reports(toys: None, run_cli, tmp_path: Path, tiny_spec: str) -> None:
    data = load_dataset(tiny_spec, "test")
    model = create_model("AsV", data.num_classes, data.sample_rate)
    save_checkpoint(tmp_path / "run", model, {"model_name": "alexnet-sum-vgg", "class_names": data.class_names,
                                              "data_spec": tiny_spec})
    code, out, err = run_cli("attacks")
    assert code == 0 and "toy-noise" in out and "Random signs at the full budget" in out
    code, _, err = run_cli("evaluate", "--checkpoint", tmp_path / "run", "--attack", "toy-noise,pgd", "--steps", "2",
                           "--json", tmp_path / "e.json")
    assert code == 0, err
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["attacks"]["toy-noise"]["attack"] == "toy-noise"
    assert result["attacks"]["toy-noise"]["max_norm"]["video"] == pytest.approx(8 / 255, rel=1e-5)
    code, _, err = run_cli("report", tmp_path / "e.json", "--out", tmp_path / "report", "--examples", "0")
    assert code == 0, err
    assert "| toy-noise |" in (tmp_path / "report" / "report.md").read_text()


def test_toy_result_kind_is_read_and_rendered(toys: None, tmp_path: Path) -> None:
    from avrobust.report import build_report
    from avrobust.results import read_result

    ToyResult(scores={"apples": 0.5, "pears": 0.25}).write(tmp_path / "toy.json")
    assert isinstance(read_result(tmp_path / "toy.json"), ToyResult)
    out = build_report([tmp_path], tmp_path / "report", examples=0)
    assert "Toy scores (toy.json)" in out["sections"]
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Toys" in text and "| pears | 0.25 |" in text
    assert text.index("## Toys") > text.index("## Data")  # its order puts it after the data it was measured on
