# The two commands of the README: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
# The PostgreSQL tests use this server; without one they skip (unless REQUIRE_POSTGRES=1).
export TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test lint format serve bench messages translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## run: set up, migrate, add demo data (once) and serve on http://127.0.0.1:5000
run: $(VENV)/.runtime
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host $(HOST) --port $(PORT)

## test: set up and run the whole test suite (lint and bandit first)
test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -r workorders -q
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## serve: production-style server (gunicorn) on the configured DATABASE_URL
serve: $(VENV)/.runtime
	$(FLASK) db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## bench: print the board's, the claims', the CSV import's and the board-at-scale figures (SQLite, and PostgreSQL via TEST_DATABASE_URL)
bench: $(VENV)/.dev
	$(BIN)/python -m bench.board
	$(BIN)/python -m bench.import_csv
	$(BIN)/python -m bench.claims
	$(BIN)/python -m bench.scale

## messages: extract the strings of the code and templates and update both catalogs (docs/languages.md)
messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --add-location=file \
		--sort-by-file --project="Work order task board" -o workorders/translations/messages.pot .
	$(BIN)/pybabel update -i workorders/translations/messages.pot -d workorders/translations \
		--no-fuzzy-matching --ignore-obsolete -w 120

## translations: compile the catalogs (.po → .mo, committed with them)
translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -d workorders/translations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
