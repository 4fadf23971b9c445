"""Where the fused decision of trained runs goes wrong: per-clip errors of the fused logits and of the two
unimodal heads, and how often the heads fail together.

For each run (a run directory of ``avrobust train``) on its test split: the accuracy of the fused logits and
of each head, the share of clips both heads get wrong against the share they would if their errors were
independent (``(1 - acc_a) * (1 - acc_v)``), the phi correlation of the two heads' errors, the share where at
least one head is right, and how many fused errors had one head right. A late fusion sums two heads that
see one modality each; an attention fusion's heads read tokens that saw the other modality, so their errors
may fail together, and their sum gain less over the better head. Writes JSON (``--json``) and prints Markdown.

    PYTHONPATH=src python benchmarks/head_errors.py RUN [RUN ...] [--label NAME ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from avrobust.checkpoint import load_checkpoint
from avrobust.data import load_dataset


@torch.no_grad()
def head_errors(run: Path, batch_size: int = 50) -> dict:
    """Per-head accuracy and error overlap of the run's model on its data's test split."""
    ckpt = load_checkpoint(run)
    model = ckpt.model.eval()
    test = load_dataset(ckpt.meta["data_spec"], "test")
    right = {"fused": [], "audio": [], "visual": []}
    for batch, labels in test.batches(batch_size):
        out = model(batch.video, batch.audio)
        for key, logits in (("fused", out.logits), ("audio", out.audio_logits), ("visual", out.visual_logits)):
            right[key].append(logits.argmax(1) == labels)
    fused, audio, visual = (torch.cat(right[k]).double() for k in ("fused", "audio", "visual"))
    n = len(fused)
    wa, wv = 1 - audio, 1 - visual
    both = float((wa * wv).mean())
    phi_den = math.sqrt(float(wa.mean() * (1 - wa.mean()) * wv.mean() * (1 - wv.mean())))
    fused_wrong = fused == 0
    return {"run": str(run), "model": ckpt.meta.get("model_name"), "data": ckpt.meta["data_spec"], "n": n,
            "fused": float(fused.mean()), "audio": float(audio.mean()), "visual": float(visual.mean()),
            "both_heads_wrong": both, "both_wrong_if_independent": float(wa.mean() * wv.mean()),
            "error_phi": (both - float(wa.mean() * wv.mean())) / phi_den if phi_den else float("nan"),
            "either_head_right": 1 - both,
            "fused_wrong": int(fused_wrong.sum()),
            "fused_wrong_with_a_head_right": int((fused_wrong & ((audio + visual) > 0)).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--label", nargs="+", default=None, help="a name per run for the table (default: the model)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.label and len(args.label) != len(args.runs):
        ap.error("--label needs one name per run")
    rows = [head_errors(r) for r in args.runs]
    for row, label in zip(rows, args.label or [], strict=False):
        row["label"] = label
    print("| run | n | fused | audio head | visual head | both heads wrong | if independent | error phi "
          "| either head right | fused wrong, a head right |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r.get('label', r['model'])} | {r['n']} | {r['fused']:.4f} | {r['audio']:.4f} | {r['visual']:.4f} | "
              f"{r['both_heads_wrong']:.4f} | {r['both_wrong_if_independent']:.4f} | {r['error_phi']:.2f} | "
              f"{r['either_head_right']:.4f} | {r['fused_wrong_with_a_head_right']} of {r['fused_wrong']} |")
    if args.json:
        args.json.write_text(json.dumps({"kind": "head-errors", "runs": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
