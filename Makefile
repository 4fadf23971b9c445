# avrobust: `make demo` runs the end-to-end demo, `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0

.PHONY: install demo test clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Installs torch only when the venv cannot import it (a user's own GPU build is kept).
install: $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "torch==$(TORCH_VERSION)"
	$(PY) -m pip install -q -e ".[dev]"
	@# torchattacks (tests only: the peer check) pins torchvision, which has no CPU build here
	@$(PY) -c "import torchattacks" 2>/dev/null || $(PY) -m pip install -q --no-deps "torchattacks==3.5.1"

demo: install
	$(VENV)/bin/avrobust demo --out runs/demo --overwrite

test: install
	$(PY) -m pytest -q

clean:
	rm -rf runs/demo .pytest_cache
