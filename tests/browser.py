"""Headless Chromium for the tests that open a page as a user would (the report, the documentation site):
a page is loaded with a checking script that writes what it found into the DOM, which Chromium dumps."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
BROWSER_RUN = [str(BROWSER), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"]
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium found (apt install chromium); CI's .ci/run "
                                   "installs it")


def checked_in_browser(page: Path, script: str) -> dict:
    """What ``script`` (a ``<script>`` that sets the body's ``data-check`` attribute to JSON once the page has
    loaded) found in ``page``, rendered by headless Chromium at 1280x800 (through a copy beside the page)."""
    probe = page.with_name(f"probe-{page.name}")
    probe.write_text(page.read_text().replace("</body>", script + "</body>"))
    try:
        dom = subprocess.run([*BROWSER_RUN, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                             capture_output=True, text=True, timeout=180).stdout
    finally:
        probe.unlink()
    found = re.search(r'data-check="([^"]*)"', dom)
    assert found, "the page did not finish loading in the browser"
    return json.loads(html.unescape(found.group(1)))
