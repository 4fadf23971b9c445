"""CTranslate2's model file (``model.bin``), read without CTranslate2, and Whisper's encoder out of it.

The format (CTranslate2's ``ModelSpec._serialize``, binary version 6, little-endian): ``uint32`` version,
the spec's name (a string: ``uint16`` length including a final NUL, the UTF-8 bytes, the NUL), ``uint32``
revision, ``uint32`` count of variables, then per variable its name, ``uint8`` rank, ``uint32`` per
dimension, ``uint8`` type (0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16), ``uint32`` byte
count and the bytes (row-major); then ``uint32`` count of aliases and, per alias, two strings.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import torch

from avrobust.errors import ConfigError

DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}  # 5: bfloat16, read apart
VERSIONS = (5, 6)


class _Reader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.at, self.name = data, 0, name

    def take(self, fmt: str) -> int:
        try:
            (value,) = struct.unpack_from("<" + fmt, self.data, self.at)
        except struct.error:
            raise ConfigError(f"{self.name} ends early: not a complete CTranslate2 model file") from None
        self.at += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str:
        size = self.take("H")
        text = self.data[self.at : self.at + size - 1].decode("utf-8")
        self.at += size
        return text

    def raw(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise ConfigError(f"{self.name} ends early: not a complete CTranslate2 model file")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk


def read_model(path: Path) -> tuple[str, int, dict[str, np.ndarray], dict[str, str]]:
    """``(spec name, revision, variables, aliases)`` of a CTranslate2 ``model.bin``."""
    reader = _Reader(Path(path).read_bytes(), Path(path).name)
    version = reader.take("I")
    if version not in VERSIONS:
        raise ConfigError(f"{path.name} is CTranslate2 binary version {version}; this reader knows {VERSIONS}")
    spec, revision = reader.string(), reader.take("I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.take("I")):
        name = reader.string()
        shape = tuple(reader.take("I") for _ in range(reader.take("B")))
        kind, size = reader.take("B"), reader.take("I")
        data = reader.raw(size)
        if kind == 5:  # bfloat16: the high half of a float32
            array = (np.frombuffer(data, np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif kind in DTYPES:
            array = np.frombuffer(data, DTYPES[kind])
        else:
            raise ConfigError(f"{path.name}: variable {name} has unknown type {kind}")
        variables[name] = array.reshape(shape).copy()
    aliases = {}
    for _ in range(reader.take("I")):
        alias = reader.string()
        aliases[alias] = reader.string()
    return spec, revision, variables, aliases


def whisper_encoder_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """The state dict of :class:`avrobust.models.backbones.whisper.WhisperEncoder` (float32) from a Whisper
    ``model.bin``; CTranslate2's fused query/key/value projection is split (its key bias must be zero:
    Whisper's key projection has none)."""
    spec, revision, var, _ = read_model(path)
    if spec != "WhisperSpec":
        raise ConfigError(f"{path.name} holds a {spec}, not Whisper")
    layers = sorted({int(m.group(1)) for k in var if (m := re.match(r"encoder/layer_(\d+)/", k))})

    def t(key: str) -> torch.Tensor:
        return torch.from_numpy(var[f"encoder/{key}"].astype(np.float32))

    out = {"conv1.weight": t("conv1/weight"), "conv1.bias": t("conv1/bias"), "conv2.weight": t("conv2/weight"),
           "conv2.bias": t("conv2/bias"), "positional_embedding": t("position_encodings/encodings"),
           "ln_post.weight": t("layer_norm/gamma"), "ln_post.bias": t("layer_norm/beta")}
    for i in layers:
        pre, ours = f"layer_{i}", f"blocks.{i}"
        qkv_w, qkv_b = t(f"{pre}/self_attention/linear_0/weight"), t(f"{pre}/self_attention/linear_0/bias")
        (q_w, k_w, v_w), (q_b, k_b, v_b) = qkv_w.chunk(3), qkv_b.chunk(3)
        if k_b.abs().max() > 0:
            raise ConfigError(f"{path.name}: layer {i}'s key bias is not zero; this is not Whisper's encoder")
        out |= {f"{ours}.attn.query.weight": q_w, f"{ours}.attn.query.bias": q_b, f"{ours}.attn.key.weight": k_w,
                f"{ours}.attn.value.weight": v_w, f"{ours}.attn.value.bias": v_b,
                f"{ours}.attn.out.weight": t(f"{pre}/self_attention/linear_1/weight"),
                f"{ours}.attn.out.bias": t(f"{pre}/self_attention/linear_1/bias"),
                f"{ours}.attn_ln.weight": t(f"{pre}/self_attention/layer_norm/gamma"),
                f"{ours}.attn_ln.bias": t(f"{pre}/self_attention/layer_norm/beta"),
                f"{ours}.mlp_ln.weight": t(f"{pre}/ffn/layer_norm/gamma"),
                f"{ours}.mlp_ln.bias": t(f"{pre}/ffn/layer_norm/beta"),
                f"{ours}.mlp.0.weight": t(f"{pre}/ffn/linear_0/weight"), f"{ours}.mlp.0.bias": t(f"{pre}/ffn/linear_0/bias"),
                f"{ours}.mlp.2.weight": t(f"{pre}/ffn/linear_1/weight"), f"{ours}.mlp.2.bias": t(f"{pre}/ffn/linear_1/bias")}
    heads = int(var["encoder/num_heads"]) if "encoder/num_heads" in var else None
    dtype = str(var["encoder/conv1/weight"].dtype)
    return out, {"spec": f"{spec} revision {revision}", "layers": len(layers), "heads": heads, "source_dtype": dtype}
