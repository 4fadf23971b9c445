"""Why do attacks transfer so little on synth? Three diagnostics, run by hand (not a test).

1. **Gradient alignment**: mean cosine similarity and sign agreement of the input gradients of the
   cross-entropy, surrogate against each victim, per modality, on clean test clips. L-inf attacks
   step along the sign, so a sign agreement near 0.5 means a surrogate's step is noise to the victim.
2. **Same architecture, other seed**: the surrogate's zoo twin from another zoo as the victim.
3. **TMA's knobs** at a budget where transfer is measurable: lambda1, lambda2 and the
   transformations, black-box ASR averaged over the other zoo models.

    PYTHONPATH=src .venv/bin/python benchmarks/transfer_diagnostics.py --zoo runs/zoo-s0 --twin-zoo runs/zoo-s1

Writes ``--out`` (JSON) and prints a Markdown summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.nn import functional as F

from avrobust.attacks import ThreatModel, build_attacks
from avrobust.io import write_json
from avrobust.data import load_dataset
from avrobust.evaluation.transfer_matrix import Member, load_members, transfer_matrix


def input_gradients(m: Member, video: torch.Tensor, audio: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    video, audio = video.clone().requires_grad_(True), audio.clone().requires_grad_(True)
    loss = F.cross_entropy(m.model(video, audio).logits, labels, reduction="sum")
    return torch.autograd.grad(loss, [video, audio])


def _sign_agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    """Share of equal signs among the entries where both gradients are non-zero (0.5: unrelated)."""
    both = (a != 0) & (b != 0)
    return float((a.sign() == b.sign())[both].float().mean()) if bool(both.any()) else float("nan")


def alignment(sur: Member, victims: list[Member], dataset, idx: torch.Tensor) -> dict:
    batch, labels = dataset.batch(idx)
    video, audio = batch.video, batch.audio
    gs = input_gradients(sur, video, audio, labels)
    out = {}
    for v in victims:
        gv = input_gradients(v, video, audio, labels)
        out[v.label] = {m: {"cosine": float(F.cosine_similarity(a.flatten(1), b.flatten(1), dim=1).mean()),
                            "sign_agreement": _sign_agreement(a, b)}
                        for m, a, b in (("video", gs[0], gv[0]), ("audio", gs[1], gv[1]))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", type=Path, default=Path("runs/zoo-s0"))
    ap.add_argument("--twin-zoo", type=Path, default=Path("runs/zoo-s1"))
    ap.add_argument("--surrogate", default="AsV")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--scale", type=float, default=4.0, help="budget multiplier for parts 2 and 3")
    ap.add_argument("--out", type=Path, default=Path("runs/diagnostics.json"))
    args = ap.parse_args()
    dataset = load_dataset("synth", "test")
    idx = torch.arange(args.n)
    members = load_members([args.zoo])
    sur = next(m for m in members if m.label == args.surrogate)
    others = [m for m in members if m is not sur]
    twin = next(m for m in load_members([args.twin_zoo]) if m.label == args.surrogate)
    twin.label = f"{twin.label}@{args.twin_zoo.name}"
    grads = alignment(sur, [*others, twin], dataset, idx)

    same_arch = {}
    for scale in (1.0, args.scale):
        attacks = build_attacks(["mifgsm,tma"], ThreatModel().scaled(scale), steps=10)
        r = transfer_matrix([sur], [twin, *others], dataset, attacks, indices=idx)
        asr = {(x["attack"], x["victim"]): x["attack_success_rate"] for x in r["matrix"]}
        same_arch[f"x{scale:g}"] = {a: {"twin": asr[a, twin.label],
                                        "other_architectures": sum(asr[a, o.label] for o in others) / len(others)}
                                    for a in r["attacks"]}

    variants = ["mifgsm", "tma:lambda1=0,lambda2=0", "tma:lambda1=1,lambda2=1", "tma:lambda1=10,lambda2=0",
                "tma:lambda1=0,lambda2=10", "tma:lambda1=10,lambda2=10", "tma:lambda1=1,lambda2=1,transforms=none",
                "tma:lambda1=1,lambda2=1,maximize_temporal=true"]
    r = transfer_matrix([sur], others, dataset, build_attacks(variants, ThreatModel().scaled(args.scale), steps=10),
                        indices=idx)
    knobs = {a: s["black_box_asr"] for a, s in r["summary"].items()}
    write_json(args.out, {"surrogate": sur.label, "n": args.n, "scale": args.scale, "gradient_alignment": grads,
                          "same_architecture": same_arch, "tma_knobs": knobs})

    print(f"## Gradient alignment with {sur.label} ({args.n} clean test clips)\n")
    print("| victim | video cosine | video sign agreement* | audio cosine | audio sign agreement* |\n|---|---|---|---|---|")
    for v, g in grads.items():
        print(f"| {v} | {g['video']['cosine']:.3f} | {g['video']['sign_agreement']:.3f} | "
              f"{g['audio']['cosine']:.3f} | {g['audio']['sign_agreement']:.3f} |")
    print("\n*among the input entries where both gradients are non-zero; 0.5 means unrelated signs.")
    print(f"\n## Same architecture, other seed ({twin.label}) vs the other architectures (mean)\n")
    print("| budget | attack | twin ASR % | other architectures ASR % |\n|---|---|---|---|")
    for scale, rows in same_arch.items():
        for a, x in rows.items():
            print(f"| {scale} | {a} | {100 * x['twin']:.1f} | {100 * x['other_architectures']:.1f} |")
    print(f"\n## TMA's knobs, black-box ASR % over {len(others)} victims, budget x{args.scale:g}\n")
    print("| attack | black-box ASR % |\n|---|---|")
    for a, v in knobs.items():
        print(f"| {a} | {100 * v:.1f} |")


if __name__ == "__main__":
    main()
