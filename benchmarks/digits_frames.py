"""Can the visual encoders learn digits from frames alone? (issue 15; run by hand, not a test)

Trains each variant 4 epochs on the frames of the training clips that show the digit and prints the
accuracy on the test frames that show it. Variants: a plain 4-layer CNN with batch norm, our width-8
AlexNet encoder (lr 3e-3 and 1e-3), width 16, and our width-8 ResNet encoder.

    AVROBUST_CACHE=DIR PYTHONPATH=src .venv/bin/python benchmarks/digits_frames.py plain4-bn alexnet-w8 resnet-w8
"""
import sys
import time

import torch
from torch import nn
from avrobust.data import load_dataset
from avrobust.models.encoders import VisualAlexNet, VisualResNet
torch.manual_seed(0)
tr, te = load_dataset("digits", "train"), load_dataset("digits", "test")
keep_tr, keep_te = ~tr.extras["video_missing"], ~te.extras["video_missing"]
def frames(d, keep):  # every frame of the clips that show the digit
    v = d.video[keep]; return ((v - 0.45) / 0.25).flatten(0, 1), d.labels[keep].repeat_interleave(d.frames)
xtr, ytr = frames(tr, keep_tr); xte, yte = frames(te, keep_te)
def plain():
    layers, c = [], 3
    for w in (16, 32, 64, 64):
        layers += [nn.Conv2d(c, w, 3, 1, 1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]; c = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))
def enc(m, d): return nn.Sequential(m, nn.Linear(d, 10))
variants = {
  "plain4-bn": plain,
  "alexnet-w8": lambda: enc(VisualAlexNet(8), 128),
  "alexnet-w8-lr1e-3": lambda: enc(VisualAlexNet(8), 128),
  "alexnet-w16": lambda: enc(VisualAlexNet(16), 128),
  "resnet-w8": lambda: enc(VisualResNet(8), 64),
}
for name in sys.argv[1:] or variants:
    torch.manual_seed(0)
    net = variants[name]()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3 if "lr1e-3" in name else 3e-3, weight_decay=1e-4)
    t = time.time()
    for epoch in range(4):
        net.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i:i+128]
            loss = nn.functional.cross_entropy(net(xtr[idx]), ytr[idx])
            opt.zero_grad(); loss.backward(); opt.step()
        net.eval()
        with torch.no_grad():
            acc = sum((net(xte[i:i+512]).argmax(1) == yte[i:i+512]).sum().item() for i in range(0, len(xte), 512)) / len(xte)
        print(name, "epoch", epoch + 1, "loss", round(loss.item(), 3), "test frame acc", round(acc, 3), round(time.time() - t), "s", flush=True)
