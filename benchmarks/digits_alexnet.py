"""Why does the AlexNet visual branch not learn on digits? (issue 15; run by hand, not a test)

Trains alexnet-sum-vgg on ``digits`` for 12 epochs, seed 3, as the zoo does (``base``), with a batch
norm after every conv of the AlexNet encoder (``bn``), or at learning rate 1e-3 (``lr1e-3``), and
prints the validation accuracies. It diagnosed the encoder as it was before commit d29d553, which
gave it the batch norm; to reproduce the figures in RESULTS.md, run it on the commit before (and data
recipe 2, ``digits:p_video_missing=0.25,p_audio_missing=0.25`` at that commit's defaults).

    AVROBUST_CACHE=DIR PYTHONPATH=src .venv/bin/python benchmarks/digits_alexnet.py base|bn|lr1e-3
"""
import sys
import tempfile
from torch import nn
from avrobust.runtime import tune_allocator; tune_allocator()
from avrobust.data import load_dataset
from avrobust.seeding import seed_everything
from avrobust.models import create_model
from avrobust.models import encoders
from avrobust.defences import TrainConfig, train
variant = sys.argv[1]
if variant == "bn":  # batch norm after every conv
    orig = encoders.VisualAlexNet.__init__
    def init(self, width=16, dim=128, dropout=0.0):
        orig(self, width, dim, dropout)
        layers = []
        for m in self.features:
            layers.append(m)
            if isinstance(m, nn.Conv2d):
                layers.append(nn.BatchNorm2d(m.out_channels))
        self.features = nn.Sequential(*layers)
    encoders.VisualAlexNet.__init__ = init
tr, va = load_dataset("digits", "train"), load_dataset("digits", "val")
seed_everything(3)
model = create_model("alexnet-sum-vgg", 10, 8000)
lr = 1e-3 if variant == "lr1e-3" else 3e-3
s = train(model, tr, va, TrainConfig(epochs=12, lr=lr), tempfile.mkdtemp(), meta={"model_name": "AsV"}, show_progress=False)
print(variant, {k: round(v, 3) for k, v in s["metrics"].items() if "acc" in k}, flush=True)
