import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avrobust.defences.curriculum import Curriculum, Schedule
from avrobust.errors import ConfigError


def values(s: Schedule, epochs: int) -> list[float]:
    return [s.value(e, epochs) for e in range(epochs)]


def test_schedule_values_at_given_epochs():
    assert values(Schedule("linear", 0.0, 1.0), 5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert values(Schedule("constant", 0.0, 0.3), 3) == [0.3, 0.3, 0.3]
    cos = values(Schedule("cosine", 0.0, 1.0), 5)
    assert cos[0] == 0.0 and cos[-1] == pytest.approx(1.0) and cos[2] == pytest.approx(0.5)
    assert cos[1] == pytest.approx((1 - math.cos(math.pi / 4)) / 2)  # slow start: below linear's 0.25
    assert values(Schedule("step", 1, 10, stages=2), 4) == [1, 1, 10, 10]
    assert values(Schedule("step", 0.0, 1.0, stages=3), 6) == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    assert Schedule("linear", 0.0, 0.5).value(0, 1) == 0.5  # a one-epoch run trains at the end value


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["constant", "linear", "cosine", "step"]), start=st.floats(0, 1), end=st.floats(0, 1),
       epochs=st.integers(1, 40), stages=st.integers(2, 6))
def test_schedules_stay_between_start_and_end_and_move_monotonically(kind, start, end, epochs, stages):
    vals = values(Schedule(kind, start, end, stages), epochs)
    lo, hi = min(start, end), max(start, end)
    assert all(lo - 1e-12 <= v <= hi + 1e-12 for v in vals)
    sign = 1 if end >= start else -1
    assert all(sign * (b - a) >= -1e-12 for a, b in zip(vals, vals[1:]))
    assert vals[-1] == pytest.approx(end)


def test_curriculum_values_and_off_switch():
    cur = Curriculum(mask=Schedule("linear", 0.0, 0.5), dropout=Schedule("cosine", 0.0, 0.2),
                     steps=Schedule("linear", 1, 5), mask_synchronous=False)
    first, last = cur.at(0, 3), cur.at(2, 3)
    assert first == {"mask_ratio": 0.0, "mask_synchronous": False, "dropout": 0.0, "attack_steps": 1}
    assert last == {"mask_ratio": 0.5, "mask_synchronous": False, "dropout": 0.2, "attack_steps": 5}
    assert cur.at(1, 3)["attack_steps"] == 3
    off = Curriculum(steps=Schedule("linear", 1, 7), enabled=False)
    assert off.at(0, 4) == off.at(3, 4) == {"mask_ratio": 0.0, "mask_synchronous": True, "dropout": None,
                                             "attack_steps": 7}


@pytest.mark.parametrize("kwargs, message", [
    ({"mask": Schedule("linear", 0.0, 1.5)}, "masking ratio must lie in [0, 1]"),
    ({"mask": Schedule("linear", -0.1, 0.5)}, "masking ratio"),
    ({"dropout": Schedule("linear", 0.0, 1.0)}, "dropout ratio must lie in [0, 1)"),
    ({"steps": Schedule("linear", 0, 5)}, "attack steps must be >= 1"),
])
def test_invalid_curricula_are_one_line_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        Curriculum(**kwargs)


def test_unknown_schedule_and_bad_stages():
    with pytest.raises(ConfigError, match="unknown schedule 'exp'; valid choices: constant, linear, cosine, step"):
        Schedule("exp", 0, 1)
    with pytest.raises(ConfigError, match="stages >= 2"):
        Schedule("step", 0, 1, stages=1)


def test_a_schedule_that_gets_easier_warns(capsys):
    lines = Curriculum(mask=Schedule("linear", 0.5, 0.1), steps=Schedule("linear", 1, 10)).warn_if_reversed()
    assert len(lines) == 1 and "mask schedule goes from 0.5 down to 0.1" in lines[0]
    assert "warning:" in capsys.readouterr().err
    assert Curriculum().warn_if_reversed() == []
    assert Curriculum(mask=Schedule("constant", 0.5, 0.1)).warn_if_reversed() == []  # constant: only end counts
