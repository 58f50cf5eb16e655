# envgrid — set-up and the two everyday commands.
#   make serve   create .venv, install, start envgrid on its embedded PostgreSQL
#   make test    the same set-up, then ruff, mypy and the whole test suite
#
# The set-up is idempotent and does only what is missing: the Python virtualenv
# (.venv, exact versions from constraints.txt, and the C speed-ups setup.py builds with
# the machine's gcc), the front-end libraries (npm ci
# into web/frontend/node_modules, copied to web/static/vendor/), and the Debian
# packages the exports and the browser tests need (a CJK font, poppler-utils,
# chromium).  PostgreSQL server binaries are expected on the machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR_STAMP := web/static/vendor/.installed
# Debian packages: a CJK font for Chinese PDF/PNG exports (serve and test); pdftoppm for
# the export tests, chromium for the browser tests and docker-compose (1.29: `config`
# needs no Docker daemon) to validate deploy/compose*.yaml (test only).
APT_SERVE := fonts-noto-cjk fonts-wqy-zenhei
APT_TEST := poppler-utils chromium docker-compose
# test processes (pytest-xdist; each has its own throwaway PostgreSQL): make test TEST_WORKERS=4
TEST_WORKERS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# apt-get install of whatever in $(1) is missing (dpkg -s tells), quietly
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

.PHONY: serve test setup setup-python setup-frontend setup-system setup-test-system lint \
        typecheck pytest bench clean

serve: setup
	$(BIN)/envgrid serve

test: setup setup-test-system lint typecheck pytest

setup: setup-python setup-frontend setup-system

setup-python: $(STAMP)

# setup.py compiles the C speed-ups (ingest/_copyrows.c, protocol/_fastpath.c) in place
$(STAMP): pyproject.toml constraints.txt setup.py $(wildcard ingest/*.c protocol/*.c)
	@$(PYTHON) -c "import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" \
	  || { echo "Python.h is missing: installing python3-dev"; $(SUDO) apt-get update -qq && \
	       DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends python3-dev; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

setup-frontend: $(VENDOR_STAMP)

$(VENDOR_STAMP): web/frontend/package.json web/frontend/package-lock.json $(wildcard web/frontend/*.mjs) web/frontend/county-adcodes.json
	cd web/frontend && npm ci --no-audit --no-fund --loglevel=error && node copy-vendor.mjs
	@touch $(VENDOR_STAMP)

setup-system:
	$(call apt_install,$(APT_SERVE))

setup-test-system:
	$(call apt_install,$(APT_TEST))

lint: setup-python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check protocol

typecheck: setup-python
	$(BIN)/mypy envgrid protocol store ingest forward aggregates alerts web bench simulators

pytest: setup setup-test-system
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

bench: setup
	$(BIN)/envgrid bench all

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis web/static/vendor \
	       web/frontend/node_modules build ingest/*.so protocol/*.so
