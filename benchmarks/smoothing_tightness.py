"""How tight randomized smoothing's certified radius is on a linear model whose distance to the boundary is
exact (issue 37): per distance (in sigma), the radius over the exact distance for 8 clips, jointly and along
the audio alone; n = 10,000 draws, alpha = 0.001, seed 1. Run from the repository root:
``PYTHONPATH=. .venv/bin/python benchmarks/smoothing_tightness.py``; figures go to benchmarks/RESULTS.md."""

from __future__ import annotations

from avrobust.certification import certify_model, create_certifier
from tests.certification.test_smoothing import setup

DISTANCES = (0.5, 1.0, 2.0, 3.0)
SIGMA = 0.2

if __name__ == "__main__":
    for along in ("both", "audio"):
        net, data, exact, _ = setup([d for d in DISTANCES for _ in range(8)], SIGMA, along)
        cert = create_certifier("smoothing", sigma_video=SIGMA if along == "both" else 0.0, sigma_audio=SIGMA,
                                n=10_000, batch=5000)
        result = certify_model(net, data, cert, seed=1)
        ratios = [got / want for got, want in zip(result.radius, exact.tolist())]
        cells = [f"{d:g} sigma: mean {sum(r) / 8:.3f}, min {min(r):.3f}, max {max(r):.3f}"
                 for d, r in ((d, ratios[8 * k:8 * k + 8]) for k, d in enumerate(DISTANCES))]
        print(f"{along}: " + "; ".join(cells) + f"; above the exact distance: {sum(x > 1 for x in ratios)}")
