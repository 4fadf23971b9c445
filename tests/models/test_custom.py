"""A researcher's own model from the shell alone: defined in a file (another call signature and output than
the zoo's), trained, attacked, evaluated, scored on a saved set and reported; later commands rebuild it
from what the run recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avrobust.errors import ConfigError
from avrobust.models.custom import read_wrap_config

MODEL = '''
import torch
from torch import nn


class Net(nn.Module):
    """Audio first, video [N, C, T, H, W], a dict out."""

    def __init__(self, classes, width):
        super().__init__()
        self.video_net = nn.Sequential(nn.Conv3d(3, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool3d(1),
                                       nn.Flatten())
        self.audio_net = nn.Sequential(nn.Conv1d(1, width, 64, stride=16), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                                       nn.Flatten())
        self.head = nn.Linear(2 * width, classes)

    def forward(self, audio, video):
        z = torch.cat([self.video_net(video), self.audio_net(audio[:, None])], 1)
        return {"embedding": z, "scores": self.head(z)}


def make(num_classes, width=4):
    return Net(num_classes, width)
'''
WRAP = '''video_layout = "NCTHW"
inputs = ["audio", "video"]
logits = "scores"
video_mean = [0.45, 0.45, 0.45]
video_std = [0.225, 0.225, 0.225]
args = { width = 6 }
'''


@pytest.fixture
def own(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "mine.py").write_text(MODEL)
    (tmp_path / "mine.toml").write_text(WRAP)
    return tmp_path / "mine.py", tmp_path / "mine.toml"


@pytest.mark.slow
def test_own_model_trained_attacked_evaluated_and_reported_from_the_shell(run_cli, tmp_path, tiny_spec, own):
    model, config = own
    run = tmp_path / "run"
    code, out, err = run_cli("train", "--model-file", f"{model}:make", "--wrap", config, "--data", tiny_spec,
                             "--out", run, "--epochs", "2", "--batch-size", "8")
    assert code == 0, err
    meta = json.loads((run / "checkpoint.json").read_text())
    assert meta["model_name"] == "Net" and meta["model_source"]["factory"] == f"{model.resolve()}:make"
    assert meta["model_source"]["config"]["args"] == {"width": 6} and len(meta["model_source"]["sha256"]) == 64
    code, out, err = run_cli("attack", "--checkpoint", run, "--save", tmp_path / "set", "--attack", "fgsm,pgd",
                             "--steps", "3", "--batch-size", "6")
    assert code == 0 and "white-box ASR" in out, err
    code, out, err = run_cli("evaluate", "--checkpoint", run, "--attack", "pgd", "--steps", "3", "--json", tmp_path / "ev.json")
    assert code == 0, err
    ev = json.loads((tmp_path / "ev.json").read_text())
    assert ev["model"] == "Net" and {"no_audio_accuracy", "no_video_accuracy"} <= set(ev)
    code, out, err = run_cli("evaluate", "--adversarial", tmp_path / "set", "--checkpoint", run, "--json", tmp_path / "s.json")
    assert code == 0, err
    rows = json.loads((tmp_path / "s.json").read_text())["matrix"]
    assert [r["attack"] for r in rows] == ["fgsm", "pgd"] and all(r["white_box"] for r in rows)
    code, out, err = run_cli("report", tmp_path / "ev.json", tmp_path / "s.json", "--out", tmp_path / "report",
                             "--examples", "0")
    assert code == 0, err
    assert "Net" in (tmp_path / "report" / "report.md").read_text()
    # untrained by avrobust (the factory's own weights): a run directory every command takes
    code, out, err = run_cli("wrap", "--model-file", f"{model}:make", "--wrap", config, "--data", tiny_spec,
                             "--out", tmp_path / "own")
    assert code == 0 and "weights" in out, err
    code, out, err = run_cli("transfer", "--surrogates", run, "--victims", tmp_path / "own", run, "--attack", "fgsm",
                             "--json", tmp_path / "t.json")
    assert code == 0, err
    assert {r["victim"] for r in json.loads((tmp_path / "t.json").read_text())["matrix"]} == {"own", "run"}
    code, out, err = run_cli("export", "--checkpoint", tmp_path / "own", "--n", "1", "--out", tmp_path / "ex")
    assert code == 0 and (tmp_path / "ex" / "index.json").exists(), err
    # the source changed: every later command on the run refuses with one line
    model.write_text(MODEL + "\n# edited\n")
    code, out, err = run_cli("evaluate", "--checkpoint", run)
    assert code != 0 and "changed since this run was trained" in err and "Traceback" not in err


@pytest.mark.parametrize(("args", "message"), [
    (["--model-file", "{model}:nothing"], "defines no callable 'nothing'"),
    (["--model-file", "{dir}/absent.py:make"], "does not exist"),
    (["--model", "AsV", "--model-file", "{model}:make"], "exactly one"),
    (["--model", "AsV", "--wrap", "{config}"], "configures a model from a factory"),
    (["--model", "no_such_package_here:make"], "cannot be imported"),
])
def test_own_model_errors_are_one_line(run_cli, tmp_path, tiny_spec, own, args, message):
    model, config = own
    args = [a.format(model=model, config=config, dir=tmp_path) for a in args]
    code, _, err = run_cli("train", *args, "--data", tiny_spec, "--out", tmp_path / "run", "--epochs", "1")
    assert code != 0 and message in err and "Traceback" not in err


def test_wrap_configuration_reads_toml_and_yaml_and_names_bad_keys(tmp_path, own):
    _, config = own
    (tmp_path / "w.yaml").write_text("video_layout: NCTHW\ninputs: [audio, video]\nlogits: scores\n")
    assert read_wrap_config(tmp_path / "w.yaml") == {"video_layout": "NCTHW", "inputs": ["audio", "video"],
                                                     "logits": "scores"}
    assert read_wrap_config(config)["args"] == {"width": 6}
    (tmp_path / "bad.toml").write_text('video_layot = "NCTHW"\n')
    with pytest.raises(ConfigError, match="unknown key"):
        read_wrap_config(tmp_path / "bad.toml")


def test_a_module_factory_is_recorded_and_rebuilt(run_cli, tmp_path, tiny_spec, own, monkeypatch):
    """``--model package.module:FACTORY``: importable from PYTHONPATH, its module file's sha256 recorded."""
    model, config = own
    package = tmp_path / "site" / "ownpkg_test"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(model.read_text())
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    code, _, err = run_cli("wrap", "--model", "ownpkg_test.nets:make", "--wrap", config, "--data", tiny_spec,
                           "--out", tmp_path / "run")
    assert code == 0, err
    meta = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert meta["model_source"]["factory"] == "ownpkg_test.nets:make" and meta["epoch"] == 0
    code, out, err = run_cli("evaluate", "--checkpoint", tmp_path / "run")
    assert code == 0 and "Net" in out, err
