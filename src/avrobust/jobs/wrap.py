"""``avrobust wrap``: your own model, with the weights its factory gives it, as a run directory, so every
command that takes a run (evaluate, attack, transfer, analyze, export, benchmark, report) takes it too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avrobust.checkpoint import save_checkpoint
from avrobust.data import load_dataset
from avrobust.defences import prepare_run_dir
from avrobust.errors import ConfigError
from avrobust.models.custom import build, is_factory, source_of


def wrap_model(model: str, out: str | Path, *, data: str, wrap_config: str | Path | None = None,
               overwrite: bool = False) -> dict[str, Any]:
    """Build the factory ``model`` (``PATH.py:FACTORY`` or ``module:FACTORY``) for ``data``'s classes and rate,
    check one clip through it, and save it untrained into run directory ``out``; return the metadata."""
    if not is_factory(model):
        raise ConfigError(f"{model!r} is not a factory; give PATH.py:FACTORY or module:FACTORY (zoo models are "
                          "built by 'avrobust train')")
    test = load_dataset(data, "test")
    source = source_of(model, wrap_config)
    net = build(source, test.num_classes, test.sample_rate)
    net.check_batch(test.batch(slice(0, 1))[0])
    run_dir = prepare_run_dir(out, overwrite=overwrite)
    meta = {"model_name": net.config.model_class, "model_source": source.to_dict(), "class_names": test.class_names,
            "data_spec": test.spec, "epoch": 0, "method": "none (the factory's weights)"}
    save_checkpoint(run_dir, net, meta)
    return meta
