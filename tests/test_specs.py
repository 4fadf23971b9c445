"""Bad specs are one line and exit 2, never a traceback or a Python exception's own text: dataset,
attack, method and threat specs fuzzed through the command line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from avrobust.attacks import ATTACKS, build_attacks
from avrobust.data import DATASETS, parse_data_spec
from avrobust.defences import METHODS, create_method
from avrobust.errors import AvrobustError
from avrobust.options import parameters
from avrobust.specs import parse_spec

NASTY = ["abc", "1.5", "-1", "0", "-0.5", "1e9", "1e-9", "", "none", "true", "no", "nan", "inf", "-inf", "1/0", "8/255",
         "99999999999999999999", "[red]x[/]", "a b", "x=y", "0x10", "+3", "1_000"]
PYTHON_TEXTS = ("Traceback", "invalid literal", "not supported between", "object has no attribute", "unexpected keyword",
                "must be integer", "takes no", "NoneType", "could not convert", "positional argument")
value = st.one_of(st.sampled_from(NASTY), st.text(st.characters(min_codepoint=33, max_codepoint=126,
                                                                 blacklist_characters=",:="), max_size=8))
fuzz = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _keys(registry, name: str) -> list[str]:  # noqa: ANN001
    factory = registry.get(name)
    if dataclasses.is_dataclass(getattr(factory, "Options", None)):
        return [f.name for f in dataclasses.fields(factory.Options)]
    return [k for k in parameters(factory)[0] if k != "threat"]


def _spec(draw: st.DrawFn, registry) -> str:  # noqa: ANN001
    name = draw(st.one_of(st.sampled_from(registry.names(aliases=True) + registry.names()), st.sampled_from(["nope", "x"])))
    if name not in registry:
        return name
    keys = _keys(registry, name) or ["k"]
    items = draw(st.lists(st.tuples(st.one_of(st.sampled_from(keys), st.just("bogus")), value), min_size=1, max_size=3,
                          unique_by=lambda kv: kv[0]))
    return name + ":" + ",".join(f"{k}={v}" for k, v in items)


@st.composite
def data_specs(draw: st.DrawFn) -> str:
    return _spec(draw, DATASETS)


@st.composite
def attack_specs(draw: st.DrawFn) -> str:
    return _spec(draw, ATTACKS)


@st.composite
def method_specs(draw: st.DrawFn) -> str:
    return _spec(draw, METHODS)


def _rejected(check) -> str | None:  # noqa: ANN001
    """The one-line message ``check`` raises for a bad spec, None when the spec is valid; anything else
    than an avrobust error fails the test (that would be a traceback for the user)."""
    try:
        check()
    except AvrobustError as err:
        return str(err)
    return None


def _one_line(run_cli, args: list[str], message: str) -> None:  # noqa: ANN001
    code, out, err = run_cli(*args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (args, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)
    assert not any(t in err for t in PYTHON_TEXTS), (args, err)
    assert " ".join(message.split())[:40] in " ".join(lines[0].split()), (args, message, err)


@fuzz
@given(spec=data_specs())
def test_bad_dataset_specs(run_cli, tmp_path_factory, spec: str) -> None:
    message = _rejected(lambda: parse_data_spec(spec))
    assume(message is not None)
    _one_line(run_cli, ["data", spec, "--out", str(tmp_path_factory.mktemp("d") / "out")], message)


@fuzz
@given(spec=attack_specs())
def test_bad_attack_specs(run_cli, spec: str) -> None:
    message = _rejected(lambda: build_attacks([spec]))
    assume(message is not None)
    _one_line(run_cli, ["evaluate", "--checkpoint", "nowhere", "--attack", spec], message)


@fuzz
@given(spec=method_specs())
def test_bad_method_specs(run_cli, tmp_path_factory, spec: str) -> None:
    message = _rejected(lambda: create_method(parse_spec(spec)[0], None, **parse_spec(spec)[1]))
    assume(message is not None)
    out = tmp_path_factory.mktemp("m") / "run"
    _one_line(run_cli, ["adv-train", "--method", spec, "--model", "AsV", "--out", str(out)], message)
    assert not out.exists()


@fuzz
@given(flag=st.sampled_from(["--eps-video", "--eps-audio", "--step-video", "--step-audio", "--norm-video",
                             "--norm-audio", "--modalities", "--joint-l2"]), text=value)
def test_bad_threat_options(run_cli, flag: str, text: str) -> None:
    from avrobust.cli.option_groups import _build_threat

    opts = {"eps_video": None, "eps_audio": None, "step_video": None, "step_audio": None, "norm_video": None,
            "norm_audio": None, "modalities": "video,audio", "joint_l2": None, flag[2:].replace("-", "_"): text}
    message = _rejected(lambda: _build_threat(opts))
    assume(message is not None)
    _one_line(run_cli, ["evaluate", "--checkpoint", "nowhere", "--attack", "pgd", flag, text], message)


@pytest.mark.parametrize(("args", "message"), [
    (["data", "digits:size=abc", "--out", "x"], "dataset 'digits': option size wants an integer, got 'abc'"),
    (["data", "synth:seed=1.5", "--out", "x"], "dataset 'synth': option seed wants an integer, got 1.5"),
    (["data", "synth:seed=-1", "--out", "x"], "synth: seed must lie in [0, 2**63)"),
    (["data", "synth:[red]x[/]=1", "--out", "x"], "unknown option(s) [red]x[/] for dataset 'synth'"),
    (["evaluate", "--checkpoint", "x", "--attack", "pgd:steps=abc"], "attack 'pgd': option steps wants an integer"),
    (["adv-train", "--method", "pgd-at:steps=abc", "--model", "AsV", "--out", "x"],
     "training method 'pgd-at': option steps wants an integer"),
])
def test_the_issues_examples(run_cli, tmp_path, monkeypatch, args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    _one_line(run_cli, args, message)


def _unwritable(tmp: Path, kind: str, name: str) -> Path:
    """An output path no process can create: under /proc, under a character device, under a plain file."""
    if kind == "file":
        (tmp / "plain").write_text("x")
        return tmp / "plain" / name
    return Path({"proc": "/proc", "device": "/dev/null"}[kind]) / f"avr-{name}"  # /proc/1 and the like exist


@fuzz
@given(kind=st.sampled_from(["proc", "device", "file"]), name=st.text("abcxyz0189_-", min_size=1, max_size=8),
       command=st.sampled_from(["data", "train"]))
def test_outputs_that_cannot_be_written_are_one_line_and_leave_nothing(run_cli, tmp_path_factory, kind, name,
                                                                        command) -> None:
    tmp = tmp_path_factory.mktemp("o")
    out = _unwritable(tmp, kind, name)
    args = (["data", "synth:clips_per_class=1,eval_clips_per_class=1", "--out", out] if command == "data" else
            ["train", "--data", "synth:clips_per_class=1,eval_clips_per_class=1", "--model", "AsV", "--out", out])
    _one_line(run_cli, [str(a) for a in args], f"cannot write to {out}")
    assert not out.exists() and sorted(p.name for p in tmp.iterdir()) == (["plain"] if kind == "file" else [])


@fuzz
@given(dataset=st.sampled_from(["synth", "digits"]), clips=st.integers(10**6, 10**15), size=st.integers(16, 256))
def test_sizes_the_machine_cannot_hold_are_one_line(run_cli, tmp_path_factory, dataset: str, clips: int, size: int) -> None:
    spec = f"{dataset}:clips_per_class={clips},size={size}"
    message = _rejected(lambda: parse_data_spec(spec))
    assert message is not None and "GiB and this machine has" in message  # refused before anything is allocated
    out = tmp_path_factory.mktemp("s") / "out"
    _one_line(run_cli, ["data", spec, "--out", str(out)], message)
    assert not out.exists()
