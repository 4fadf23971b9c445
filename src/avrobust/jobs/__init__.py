"""Jobs: one typed function per command, the layer the CLI calls (and a Python user can call)."""

from avrobust.jobs.ablate import run_ablation
from avrobust.jobs.analyze import analyze
from avrobust.jobs.demo import run_demo
from avrobust.jobs.evaluate import evaluate_checkpoint
from avrobust.jobs.export import export_examples
from avrobust.jobs.prepare import prepare, save_splits
from avrobust.jobs.train import train_model, train_zoo
from avrobust.jobs.transfer_runs import run_transfer

__all__ = ["analyze", "evaluate_checkpoint", "export_examples", "prepare", "run_ablation", "run_demo",
           "run_transfer", "save_splits", "train_model", "train_zoo"]
