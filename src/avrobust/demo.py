"""``avrobust demo``: the end-to-end job on the embedded synthetic dataset.

Trains two different zoo models (the future transfer surrogate and victim), evaluates both on the
test split and writes ``OUT/summary.json`` and ``OUT/summary.md``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from avrobust.checkpoint import atomic_write_bytes, write_json
from avrobust.console import console, output
from avrobust.errors import ConfigError
from avrobust.evaluation import evaluate_checkpoint
from avrobust.jobs import train_model

DEMO_DATA = "synth"
QUICK_DATA = "synth:classes=4,clips_per_class=8,eval_clips_per_class=4,frames=4,size=24,seconds=0.5"
SURROGATE = ("alexnet-sum-vgg", 0)
VICTIM = ("resnet-concat-vgg", 1)
EPOCHS = 12


def run_demo(out: str | Path, *, overwrite: bool = False, quick: bool = False) -> dict[str, Any]:
    """Run the demo into ``out`` and return its summary (also written as JSON and Markdown)."""
    out = Path(out)
    if (out / "summary.json").exists() and not overwrite:
        raise ConfigError(f"{out} already holds a demo; pass --overwrite to replace it or choose another --out")
    data, epochs = (QUICK_DATA, 1) if quick else (DEMO_DATA, EPOCHS)
    start = time.perf_counter()
    models: list[dict[str, Any]] = []
    for role, (name, seed) in (("surrogate", SURROGATE), ("victim", VICTIM)):
        console.rule(f"{role}: {name} (seed {seed})")
        summary = train_model(data, name, out / role, epochs=epochs, seed=seed, overwrite=True)
        test = evaluate_checkpoint(out / role, data, "test")
        models.append({"role": role, "model": name, "seed": seed, "run_dir": str(out / role),
                       "train_seconds": round(summary["total_train_seconds"], 1),
                       "val": summary["metrics"], "test": {k: test[k] for k in (
                           "n", "clean_accuracy", "audio_only_accuracy", "visual_only_accuracy")}})
    result = {"schema_version": 1, "data": data, "epochs": epochs, "quick": quick, "models": models,
              "seconds": round(time.perf_counter() - start, 1)}
    write_json(out / "summary.json", result)
    atomic_write_bytes(out / "summary.md", render_markdown(result).encode())
    output.print(render_markdown(result), soft_wrap=True, markup=False, highlight=False)
    return result


def render_markdown(result: dict[str, Any]) -> str:
    """The demo summary as a Markdown table."""
    lines = [
        "# avrobust demo",
        "",
        f"Data `{result['data']}`, {result['epochs']} epochs per model, total {result['seconds']:.0f} s.",
        "",
        "| role | model | seed | train s | test n | clean acc | audio-only acc | visual-only acc |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in result["models"]:
        t = m["test"]
        lines.append(f"| {m['role']} | {m['model']} | {m['seed']} | {m['train_seconds']:.0f} | {t['n']} | "
                     f"{t['clean_accuracy']:.3f} | {t['audio_only_accuracy']:.3f} | {t['visual_only_accuracy']:.3f} |")
    lines += ["", "Audio-only / visual-only: the unimodal heads p_a, p_v of the fused model.", ""]
    return "\n".join(lines)
