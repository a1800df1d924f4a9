# Everything runs from a local virtualenv built from the lock files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test test-local lint bench mutation run lock clean

install: $(STAMP)

$(STAMP): requirements.lock requirements-dev.lock requirements-local.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.lock
	bash tools/install_local.sh $(BIN)
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Three workers on two cores: the pty and subprocess tests spend much of their time waiting.
test: install
	$(BIN)/python -m pytest -q -n 3

# End to end against the real embedded local model (tests/local/; `make test` leaves them out).
test-local: install
	$(BIN)/python -m pytest -q -m local_model tests/local

lint: install
	$(BIN)/ruff check kit_py tests bench tools
	$(BIN)/mypy kit_py
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python tools/check_private_imports.py

bench: install
	$(BIN)/python bench/run.py

# Mutation testing with cosmic-ray (slow, not part of CI): docs/architecture.md, "Mutation testing".
# Runs in a copy under build/mutation; MUTATION_ARGS="--module store --sample 100" narrows it.
mutation: install
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.lock -r requirements-mutation.lock
	$(BIN)/python tools/mutation/run.py $(MUTATION_ARGS)

run: install
	$(BIN)/kit $(ARGS)

# Re-resolve the locks from pyproject.toml (needs the package registry).
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install -q -e . setuptools wheel
	.lockvenv/bin/pip freeze --exclude-editable --exclude setuptools --exclude wheel | sed '1i # Runtime dependencies, pinned. Regenerate with make lock.' > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
