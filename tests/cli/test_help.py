"""Every list a command's ``--help`` shows comes from the registries: every registered name appears in
the help of each command that takes it, also names a plug-in registered before the command line was
built (a hand-written list would miss them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

PLUGIN = '''
from dataclasses import dataclass
from avrobust.attacks import register_attack
from avrobust.attacks.pgd import PGD
from avrobust.data import Recipe, register_dataset
from avrobust.defences import register_method
from avrobust.defences.standard import Standard
from avrobust.evaluation.suites import register_suite
from avrobust.analysis import ANALYSES, register_analysis


@dataclass(frozen=True)
class Options:
    n: int = 1


@register_dataset("zz-toy-data")
class ToyData(Recipe):
    """A toy dataset."""
    Options = Options


@register_attack("zz-toy-attack")
class ToyAttack(PGD):
    """A toy attack."""


@register_method("zz-toy-method")
class ToyMethod(Standard):
    """A toy method."""


@register_suite("zz-toy-suite")
def toy_suite():
    """A toy suite."""
    return ("fgsm",)


@register_analysis("zz-toy-analysis", plot=lambda result, path: None, values="toy values")
def toy_analysis(study, values=None):
    """A toy analysis."""
    return {}
'''

DRIVER = '''
import contextlib, io, sys
import toy_plugin  # registers before the command line is built, as a plug-in would
from avrobust.cli import app
for command in sys.argv[1:]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            app(args=command.split() + ["--help"], prog_name="avrobust")
        except SystemExit:
            pass
    print("=====", command)
    print(buf.getvalue())
'''

COMMANDS = ("train", "adv-train", "evaluate", "transfer", "analyze", "export", "ablate", "train-zoo", "models", "data",
            "prepare", "report")


@pytest.fixture(scope="module")
def helps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every command's ``--help`` text, with the toy plug-ins registered (one subprocess)."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "toy_plugin.py").write_text(PLUGIN)
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "COLUMNS": "2000",
           "TERMINAL_WIDTH": "2000"}
    out = subprocess.run([sys.executable, "-c", DRIVER, *COMMANDS], capture_output=True, text=True, env=env,
                         timeout=300, check=True).stdout
    parts = re.split(r"^===== (\S+)$", out, flags=re.M)[1:]
    return {parts[i]: " ".join(parts[i + 1].split()) for i in range(0, len(parts), 2)}


def _missing(text: str, names: list[str]) -> list[str]:
    return [n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text)]


def test_every_registered_name_is_in_the_help_of_each_command_that_takes_it(helps: dict[str, str]) -> None:
    from avrobust.analysis import ANALYSES
    from avrobust.attacks import ATTACKS
    from avrobust.attacks.threat import NORMS
    from avrobust.data import DATASETS, SPLITS
    from avrobust.defences import METHODS
    from avrobust.defences.optim import OPTIMIZERS, SCHEDULES
    from avrobust.evaluation.suites import SUITES
    from avrobust.jobs.ablate import ablation_configs
    from avrobust.models import ZOO
    from avrobust.results import RESULT_KINDS
    from avrobust.types import MODALITIES

    toy = {DATASETS: "zz-toy-data", ATTACKS: "zz-toy-attack", METHODS: "zz-toy-method", SUITES: "zz-toy-suite",
           ANALYSES: "zz-toy-analysis"}  # registered in the subprocess, before the command line was built
    takes = {
        "train": [ZOO, DATASETS, METHODS, OPTIMIZERS, SCHEDULES],
        "adv-train": [ZOO, DATASETS, METHODS, OPTIMIZERS, SCHEDULES, NORMS, MODALITIES],
        "evaluate": [ATTACKS, SUITES, DATASETS, SPLITS, NORMS, MODALITIES],
        "transfer": [ATTACKS, DATASETS, SPLITS, NORMS, MODALITIES],
        "analyze": [ANALYSES, ATTACKS, DATASETS, SPLITS, NORMS],
        "export": [ATTACKS, DATASETS, SPLITS, NORMS],
        "ablate": [ZOO, ATTACKS, SUITES, DATASETS, list(ablation_configs(1))],
        "train-zoo": [ZOO, DATASETS],
        "models": [ZOO],
        "data": [DATASETS],
        "prepare": [[n for n in DATASETS if DATASETS.get(n).decoded]],
        "report": [[n for n in RESULT_KINDS if RESULT_KINDS.get(n).reported]],
    }
    seen = set()
    for command, lists in takes.items():
        for names in lists:
            wanted = list(names)
            if any(names is r for r in toy):
                wanted = [*names.names(), *names.names(aliases=True), toy[names]]
                seen.add(toy[names])
            missing = _missing(helps[command], wanted)
            assert not missing, f"'avrobust {command} --help' does not name {missing}"
    assert seen == set(toy.values())


def test_zoo_aliases_and_suite_contents_are_in_the_help(helps: dict[str, str]) -> None:
    assert "resnet-sum-resnet (RsR)" in helps["train"] and "defence: White-box defence suite" in helps["evaluate"]
    assert "ratios for masking" in helps["analyze"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_one_screen_of_text_not_a_traceback(helps: dict[str, str], command: str) -> None:
    assert "Traceback" not in helps[command] and "Usage" in helps[command]


def test_the_catalogs_list_the_registries(run_cli) -> None:
    from avrobust.analysis import ANALYSES
    from avrobust.data import DATASETS
    from avrobust.defences import METHODS

    for command, registry in (("datasets", DATASETS), ("methods", METHODS), ("analyses", ANALYSES)):
        code, out, _ = run_cli(command)
        assert code == 0 and not _missing(" ".join(out.split()), registry.names()), command



def test_help_groups_every_command_by_what_a_user_is_doing(run_cli) -> None:
    from avrobust.cli.app import GROUPS, app, command_name

    names = [command_name(i) for i in (*app.registered_commands, *app.registered_groups)]
    grouped = [n for group in GROUPS.values() for n in group]
    assert sorted(names) == sorted(grouped) and len(set(grouped)) == len(grouped)  # each command once, none left out
    code, out, _ = run_cli("--help")
    assert code == 0
    panels = [line.strip("╭─ ╮").strip() for line in out.splitlines() if line.startswith("╭─")]
    assert panels == ["Options", *GROUPS]  # the groups in their order, no "Other"
    rows = [out.index(f"│ {name} ") for name in ("demo", "models", "train", "evaluate", "study")]
    assert rows == sorted(rows)


def test_version_prints_the_version(run_cli) -> None:
    from avrobust.version import __version__

    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == f"avrobust {__version__}"
