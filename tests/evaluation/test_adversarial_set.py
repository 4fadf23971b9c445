"""Adversarial sets: crafted once (resumable, refused over other settings), scored later on any run or
ONNX model with the transfer matrix's figures for the same pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from avrobust.attacks import build_attacks
from avrobust.data import load_dataset
from avrobust.errors import ConfigError
from avrobust.evaluation.adversarial_set import craft_set, read_set, score_set
from avrobust.evaluation.transfer_matrix import Member, load_members, transfer_matrix
from avrobust.models.adapter import wrap


@pytest.mark.slow
def test_scoring_a_saved_set_equals_the_transfer_matrix(tiny_zoo, tiny_spec, tmp_path, monkeypatch):
    members = load_members([tiny_zoo["dir"]])
    source = members[0]
    data = load_dataset(tiny_spec, "test")
    attacks = build_attacks(["fgsm,mifgsm"], steps=3)
    manifest = craft_set(source, data, attacks, tmp_path / "set", batch_size=5)
    assert manifest["complete"] and manifest["n"] == len(data) == 12
    assert manifest["source"]["run_dir"] == source.sources[0]
    assert all(len(a["shards"]) == 3 for a in manifest["attacks"].values())  # 12 clips in batches of 5
    matrix = transfer_matrix([source], members, data, attacks, batch_size=5)
    for victim in members:
        saved = score_set(victim, tmp_path / "set", data)
        rows = {r["attack"]: dict(r) for r in saved.matrix}
        expected = {r["attack"]: dict(r) for r in matrix.matrix if r["victim"] == victim.label}
        assert rows == expected  # the same ASR, robust and clean accuracy, cosine and white-box flag
    # a finished set is read back, not crafted again; other settings are refused with one line
    import avrobust.evaluation.adversarial_set as module

    monkeypatch.setattr(module, "attack_and_score", lambda *a, **k: pytest.fail("crafted again"))
    assert craft_set(source, data, attacks, tmp_path / "set", batch_size=5) == read_set(tmp_path / "set")
    with pytest.raises(ConfigError, match="other settings"):
        craft_set(source, data, build_attacks(["pgd"], steps=2), tmp_path / "set", batch_size=5)


class MeanColourAndLoudness(nn.Module):
    """logits = [mean R, G, B of the clip, mean |audio|] @ W + b: the torch twin of the ONNX graph."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.weight, self.bias = torch.from_numpy(weight), torch.from_numpy(bias)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        z = torch.cat([video.mean(dim=(1, 3, 4)), audio.abs().mean(dim=1, keepdim=True)], 1)
        return z @ self.weight + self.bias


def _onnx_file(path: Path, weight: np.ndarray, bias: np.ndarray) -> Path:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("ReduceMean", ["video"], ["v"], axes=[1, 3, 4], keepdims=0),
             helper.make_node("Abs", ["audio"], ["aa"]),
             helper.make_node("ReduceMean", ["aa"], ["a"], axes=[1], keepdims=1),
             helper.make_node("Concat", ["v", "a"], ["z"], axis=1),
             helper.make_node("MatMul", ["z", "W"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["logits"])]
    graph = helper.make_graph(
        nodes, "mean-colour", [helper.make_tensor_value_info("video", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("audio", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_an_onnx_victim_scores_as_its_torch_twin(untrained, tmp_path, run_cli):
    pytest.importorskip("onnxruntime")
    data = untrained["test"]
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(4, data.num_classes)).astype(np.float32), rng.normal(size=data.num_classes).astype(np.float32)
    source = Member("AsV", untrained["model"], ("untrained",), {})
    craft_set(source, data, build_attacks(["fgsm"]), tmp_path / "set", indices=torch.arange(24), batch_size=8)
    twin = wrap(MeanColourAndLoudness(weight, bias), num_classes=data.num_classes, sample_rate=data.sample_rate)
    expected = score_set(Member("twin", twin, ("twin",), {}), tmp_path / "set", data).matrix[0]
    path = _onnx_file(tmp_path / "victim.onnx", weight, bias)
    code, out, err = run_cli("evaluate", "--adversarial", tmp_path / "set", "--onnx", path, "--json", tmp_path / "o.json")
    assert code == 0, err
    (row,) = json.loads((tmp_path / "o.json").read_text())["matrix"]
    assert row["victim"] == "victim" and not row["white_box"]
    assert row["clean_accuracy"] == expected["clean_accuracy"] and row["robust_accuracy"] == expected["robust_accuracy"]
    code, _, err = run_cli("evaluate", "--adversarial", tmp_path / "set")
    assert code != 0 and "give --checkpoint RUN or --onnx FILE" in err and "Traceback" not in err
    code, _, err = run_cli("evaluate", "--adversarial", tmp_path, "--onnx", path)
    assert code != 0 and "holds no adversarial set" in err
