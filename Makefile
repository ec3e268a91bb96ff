# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export AGRITRACE_ENV ?= development
# The host printed in QR codes; by default the local demo server itself.
export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)

INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
CATALOGS := $(patsubst %.po,%.mo,$(wildcard trace/translations/*/LC_MESSAGES/messages.po))

.PHONY: install e2e-deps run test test-pg lint bench translations-extract clean

install: $(INSTALLED) $(NODE_INSTALLED) $(CATALOGS)

$(INSTALLED): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

# Node packages (anvil, the OpenZeppelin Merkle library) serve tests and benchmarks.
# `npm ci` trips over anvil's per-platform optional packages (npm/cli#4828), so install
# from the lock without rewriting it.
$(NODE_INSTALLED): package.json package-lock.json
	@if command -v npm >/dev/null; then npm install --no-save --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: tests that need anvil or node will say so and skip."; fi

%.mo: %.po $(INSTALLED)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

# The browser tests drive Debian's Chromium (never a Playwright browser download).
# Without it they skip, naming what is missing; CI must have it.
CHROMIUM ?= /usr/bin/chromium
e2e-deps:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium for the browser tests (apt-get)..."; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
		|| { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
		     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "!!! Chromium could not be installed with apt-get: browser tests in tests/e2e WILL BE SKIPPED."; \
	else \
		echo "!!! $(CHROMIUM) is missing and apt-get cannot be used here (needs root on Debian/Ubuntu):"; \
		echo "!!! browser tests in tests/e2e WILL BE SKIPPED. Install it with: sudo apt-get install chromium"; \
	fi

# The instance's settings go in its env file too, so the `flask` commands the README prints
# (typed later, without make) run against this same instance (trace/config.py reads it;
# settings in the environment win over it).
INSTANCE_DIR = $${AGRITRACE_INSTANCE:-instance}
run: install
	@mkdir -p $(INSTANCE_DIR) && printf '%s\n' \
		'# Written by `make run` on each start; variables set in the environment win.' \
		'AGRITRACE_ENV=$(AGRITRACE_ENV)' 'PUBLIC_BASE_URL=$(PUBLIC_BASE_URL)' \
		> $(INSTANCE_DIR)/agritrace.env
	$(BIN)/flask --app wsgi migrate
	$(BIN)/flask --app wsgi seed-demo
	$(BIN)/flask --app wsgi serve --port $(PORT)

test: install e2e-deps
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

# The same suite against PostgreSQL (127.0.0.1:5432, database `test`).
test-pg: install e2e-deps
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest -q -n 2 --dist loadgroup

# Style, formatting and types; CI runs it before the tests (mypy's paths and its strict
# settings for chain/ are in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check trace chain stamps marketplace tests bench wsgi.py
	$(BIN)/mypy

translations-extract: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k _l -o trace/translations/messages.pot .
	$(BIN)/pybabel update -i trace/translations/messages.pot -d trace/translations --no-fuzzy-matching

# Every benchmark on SQLite and PostgreSQL; writes bench/results.json and docs/benchmarks.md.
# FACTOR=1 is Long An 2023 (within 30 minutes here); FACTOR=10 is province-wide.
FACTOR ?= 1
bench: install
	$(BIN)/python -m bench.run --factor $(FACTOR)

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
