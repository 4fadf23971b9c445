import pytest

from avrobust.jobs import train_zoo
from tests.conftest import FIXTURE_SEED


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory: pytest.TempPathFactory, tiny_spec: str) -> dict:
    """Two zoo models (alexnet-concat-vgg seed 0, alexnet-sum-vgg seed 1; both shifted by the fixture seed)
    trained 3 epochs on tiny data."""
    out = tmp_path_factory.mktemp("zoo")
    return train_zoo(tiny_spec, out, pattern="alexnet-*-vgg", epochs=3, seed=FIXTURE_SEED, show_progress=False) | {"dir": out}
