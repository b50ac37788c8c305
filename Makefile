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

# Policy server on 127.0.0.1:8700 and gateway on 127.0.0.1:8787 (var/reins.db, bundled
# policies), plus the scheduler; prints the one-line installer. Ctrl-C stops all of it.
run: $(STAMP)
	$(BIN)/reins policy test
	$(BIN)/reins up

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The end-to-end suite alone: the real Claude Code and Codex CLIs, npm-installed at pinned
# versions into var/e2e-cli/ on the first run (needs node + npm; skipped with a message without).
e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m e2e

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/server.py --workers 1
	$(BIN)/python bench/server.py --workers 2
	$(BIN)/python bench/gateway_overhead.py
	$(BIN)/python bench/budget_check.py
	$(BIN)/python bench/hook_client.py

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
