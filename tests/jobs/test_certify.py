"""``avrobust certify`` and ``avrobust.certify``: a run or a model in memory, one-line errors, the report."""

from __future__ import annotations

import json

import pytest

import avrobust
from avrobust.errors import ConfigError


def test_certify_a_model_in_memory_and_refuse_a_bad_spec(untrained):
    result = avrobust.certify(untrained["model"], untrained["test"], certifier="smoothing:sigma_video=0.1,n0=4,n=16",
                              limit=3)
    assert result.n == 3 and len(result.radius) == 3 and result.radii[0] == 0.0
    assert all(0 <= a <= result.clean_accuracy for a in result.certified_accuracy)
    with pytest.raises(ConfigError, match="unknown certifier 'ibp'; valid choices: mmcert, smoothing"):
        avrobust.certify(untrained["model"], untrained["test"], certifier="ibp")
    with pytest.raises(ConfigError, match="mmcert: k_video must be an integer >= 1"):
        avrobust.certify(untrained["model"], untrained["test"], certifier="mmcert:k_video=0")
    grid = avrobust.certify(untrained["model"], untrained["test"], certifier="mmcert:k_video=1,k_audio=1", limit=2)
    assert len(grid.grid) == len(grid.frontier[0]) == untrained["test"].video.shape[1] + 1
    with pytest.raises(ConfigError, match="smoothing"):
        avrobust.certify(untrained["model"], untrained["test"], certifier="smoothing:sigma_video=-1")


@pytest.mark.slow
def test_cli_certifies_a_trained_run_and_the_report_shows_it(trained, tmp_path, run_cli):
    out = tmp_path / "cert.json"
    code, _, err = run_cli("certify", "--checkpoint", trained["run_dir"], "--certifier",
                           "smoothing:sigma_video=0.05,sigma_audio=0.005,n0=8,n=64", "--n", "6", "--json", out)
    assert code == 0, err
    saved = json.loads(out.read_text())
    assert saved["kind"] == "certification" and saved["n"] == 6 and len(saved["certified_accuracy"]) == 5
    assert saved["radius_units"].startswith("whitened L2")
    code, _, err = run_cli("certify", "--checkpoint", trained["run_dir"], "--n", "2", "--json", out)
    assert code == 2 and "already exist" in err  # nothing the user had is overwritten by surprise
    code, _, _ = run_cli("report", out, "--out", tmp_path / "report")
    assert code == 0 and "Certified:" in (tmp_path / "report" / "report.md").read_text()
