import pytest

from avrobust.attacks import list_attacks

# Cheaper settings for the expensive attacks; every attack keeps its algorithm.
FAST = {"mig": {"path_points": 4}, "pam": {"scales": 2}, "apgd": {"steps": 10}, "apgd-ce": {"steps": 10},
        "apgd-dlr": {"steps": 10}, "apgd-t": {"steps": 10, "targets": 2}, "tia": {"copies": 2}, "tma": {"copies": 2},
        "square": {"steps": 50}}


def options(name: str, **extra) -> dict:
    base = {} if name == "fgsm" else {"steps": 5}
    return {**base, **FAST.get(name, {}), **extra}


def takes(name: str, option: str) -> bool:
    """Whether attack ``name`` takes ``option``."""
    from avrobust.attacks import ATTACKS
    from avrobust.options import parameters

    return option in parameters(ATTACKS.get(name))[0]


@pytest.fixture(params=list_attacks())
def attack_name(request) -> str:
    return request.param
