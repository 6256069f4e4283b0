# `make run` starts the bot, `make test` runs the tests; both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run sandbox test test-sqlite test-postgres season lint migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[postgres]'
	touch $@

$(VENV)/.dev-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Without TELEGRAM_TOKEN (in .env or the environment) this starts the sandbox instead.
run: $(VENV)/.run-deps
	@$(BIN)/python -m bot run

# The sandbox even when a token is set: the bot on demo data behind a web chat.
sandbox: $(VENV)/.run-deps
	@$(BIN)/python -m bot sandbox

migrate: $(VENV)/.run-deps
	@$(BIN)/python -m bot migrate

# SQLite always; PostgreSQL too when it answers (REQUIRE_POSTGRES=1 makes its absence fatal).
# tests.run_pytest runs on TEST_WORKERS (default 3) xdist workers, each with its own database
# (on PostgreSQL <db>_gw0, <db>_gw1, … created on first use).
test: $(VENV)/.dev-deps
	@$(MAKE) --no-print-directory test-sqlite
	@if $(BIN)/python -m tests.pg_available "$(POSTGRES_URL)"; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required (REQUIRE_POSTGRES) but does not answer at $(POSTGRES_URL)"; exit 1; \
	else \
		echo "PostgreSQL does not answer at $(POSTGRES_URL): ran the SQLite suite only."; \
	fi

test-sqlite: $(VENV)/.dev-deps
	@echo "== tests on SQLite"
	@DATABASE_URL= $(BIN)/python -m tests.run_pytest -q

test-postgres: $(VENV)/.dev-deps
	@echo "== tests on PostgreSQL"
	@DATABASE_URL="$(POSTGRES_URL)" $(BIN)/python -m tests.run_pytest -q

# The season simulation alone, writing what every person received to season-transcript.md.
# SQLite unless SEASON_DATABASE_URL names a PostgreSQL database (its schema is dropped).
# One process (-n 0): a single test gains nothing from workers, and it uses that database itself.
season: $(VENV)/.dev-deps
	@DATABASE_URL="$(SEASON_DATABASE_URL)" SEASON_TRANSCRIPT="$(CURDIR)/season-transcript.md" \
		$(BIN)/python -m tests.run_pytest -q -n 0 \
		tests/test_season.py; status=$$?; \
		echo "Transcript: $(CURDIR)/season-transcript.md"; exit $$status

# Ruff over everything; mypy (settings in pyproject.toml) over the product packages.
lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/mypy bot db fake_telegram

# Speed figures beside their baselines (bench/README.md); writes bench/results.json and .md.
bench: $(VENV)/.dev-deps
	@$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
