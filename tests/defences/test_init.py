"""--init: adversarial fine-tuning starts from a trained run's weights (same model and classes)."""

from __future__ import annotations

import pytest
import torch

from avrobust.checkpoint import load_checkpoint, read_meta
from avrobust.errors import ConfigError
from avrobust.jobs import train_model


@pytest.mark.slow
def test_init_starts_from_the_run_and_refuses_another_model(tiny_spec, tmp_path):
    base = tmp_path / "base"
    train_model(tiny_spec, "AsV", base, epochs=1, seed=0, show_progress=False)
    # a learning rate too small to move anything: the result is the starting point, which must be the base run
    tuned = train_model(tiny_spec, "AsV", tmp_path / "tuned", epochs=1, seed=5, method="fgsm-rs", init=base,
                        lr=1e-12, show_progress=False)
    assert tuned.method.startswith("fgsm-rs")
    start, end = load_checkpoint(base).model.state_dict(), load_checkpoint(tmp_path / "tuned").model.state_dict()
    weights = [k for k in start if start[k].is_floating_point() and "running" not in k]
    assert all(torch.allclose(start[k], end[k], atol=1e-6) for k in weights)
    assert read_meta(tmp_path / "tuned")["init"] == {"run_dir": str(base),
                                                     "tensors_sha256": read_meta(base)["tensors_sha256"]}
    with pytest.raises(ConfigError, match="holds model alexnet-sum-vgg, not alexnet-concat-vgg"):
        train_model(tiny_spec, "AcV", tmp_path / "other", epochs=1, init=base, show_progress=False)
    with pytest.raises(ConfigError, match="classes"):
        train_model(tiny_spec.replace("classes=4", "classes=3"), "AsV", tmp_path / "third", epochs=1, init=base,
                    show_progress=False)
