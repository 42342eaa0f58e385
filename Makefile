# Senim. A new machine needs only `make run` and `make test`; both build .venv when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
PYTEST_ARGS ?=

.PHONY: run test bench lint lock translations messages clean

# Installs come from the lock file (exact versions); pyproject.toml keeps the ranges.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

## Refresh requirements.lock from the ranges in pyproject.toml (after changing a dependency).
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile --quiet --python $(BIN)/python --extra dev --universal \
	  --python-version 3.11 --no-header --output-file requirements.lock pyproject.toml

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile --statistics -d translations -l $*

translations: $(STAMP) $(MO_FILES)

## Extract messages and merge them into the kk, ru and en catalogues (then translate them).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

## Development server on 127.0.0.1:5000 with the demo directory and users (SQLite by default).
run: translations
	$(BIN)/senim db upgrade
	$(BIN)/senim demo
	@echo; echo "Demo logins (development only; kept in instance/demo-logins.txt):"; \
	  cat "$${SENIM_INSTANCE_PATH:-instance}/demo-logins.txt" 2>/dev/null || true; echo
	$(BIN)/senim run --host 127.0.0.1 --port 5000

## The whole suite. SENIM_DATABASE_URL=postgresql://... runs it on PostgreSQL.
test: translations
	@set +e; $(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

## Benchmarks on PostgreSQL (SENIM_DATABASE_URL names the server, default the local one): seeds the
## national dataset once (reused when complete), runs every benchmarks/bench_*.py, prints one table.
bench: translations
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache translations/*/LC_MESSAGES/*.mo
