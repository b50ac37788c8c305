# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test e2e bench lint format clean venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# Starts the policy server on 127.0.0.1:8700 with var/reins.db and the bundled policies.
# The gateway (issue #7) and the one-line installer (issue #4) are not built yet.
run: $(STAMP)
	$(BIN)/reins policy test
	@echo "reins: create a token in another shell: $(BIN)/reins token create --user $$USER --role developer"
	$(BIN)/reins serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

# pytest exits 5 when the selection is empty; that is not a failure of the e2e suite.
e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m e2e || test $$? -eq 5

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/server.py --workers 1
	$(BIN)/python bench/server.py --workers 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/reins policy lint
	$(BIN)/reins policy test

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
