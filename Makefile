# Tebiki — two commands: `make run` (set up and serve the demo) and `make test` (lint + the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 5000
CHROMIUM := /usr/bin/chromium

WEB_CONCURRENCY ?= 4
TMPDIR_TESTS ?= /tmp/tebiki-tests

.PHONY: install setup run serve migrate test test-sqlite test-postgres lint sysdeps testdeps clean

# PDF export (WeasyPrint needs Pango and HarfBuzz) and the IPA fonts it embeds (Debian package names).
SYSDEPS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipafont-gothic fonts-ipafont-mincho
# The tests: Debian's Chromium (browser tests), OpenLDAP's slapd with the LDAP tools and openssl (the
# directory tests start a real server on loopback), poppler's pdftotext/pdffonts/pdftoppm (PDFs read back).
TESTDEPS := chromium slapd ldap-utils openssl poppler-utils

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: sysdeps $(STAMP)

# Installs the missing Debian packages when it can (root, as in CI); otherwise says what to install.
define apt_need
	@command -v dpkg >/dev/null || exit 0; \
	missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "== installing $$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "$(2)に必要なパッケージがありません:"; echo "  sudo apt-get install -y" $$missing; exit 1; \
	  fi; \
	fi
endef

sysdeps:
	$(call apt_need,$(SYSDEPS),PDF 出力)

testdeps:
	$(call apt_need,$(TESTDEPS),テスト（ブラウザ・ディレクトリ・PDF）)

# Database schema, manuals repository, and the demo organisation/users/manuals when the database is empty.
setup: install
	$(FLASK) db upgrade
	$(FLASK) seed demo --if-empty

run: setup
	@echo ""
	@echo "手引（Tebiki）を http://$(HOST):$(PORT)/ で起動します（終了は Ctrl+C）。"
	$(FLASK) run --host $(HOST) --port $(PORT)

# The schema, as its own step of a deployment (safe when hosts run it together: an advisory lock on
# PostgreSQL makes the others wait and then find nothing to do).
migrate: install
	$(FLASK) db upgrade
	$(FLASK) init

# Production serving: gunicorn, several worker processes, no shared in-process state. Needs SECRET_KEY
# (the same on every host) unless TEBIKI_SINGLE_HOST=1; run `make migrate` first on a new version.
serve: install
	@if [ -z "$$SECRET_KEY" ] && [ "$$TEBIKI_SINGLE_HOST" != "1" ]; then \
	  echo "SECRET_KEY が設定されていません。全サーバーで同じ値を設定してください（1台だけのお試しなら TEBIKI_SINGLE_HOST=1）。"; \
	  exit 1; fi
	$(BIN)/gunicorn -c python:app.gunicorn_conf --workers $(WEB_CONCURRENCY) --bind $(HOST):$(PORT) --access-logfile - \
		--timeout 60 --graceful-timeout 30 app.wsgi:app

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test-sqlite: install testdeps
	@mkdir -p $(TMPDIR_TESTS)
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest --basetemp=$(TMPDIR_TESTS)/sqlite $(PYTEST_ARGS)

test-postgres: install testdeps
	@if [ -z "$$TEST_DATABASE_URL" ]; then echo "TEST_DATABASE_URL が未設定です（例 postgresql+psycopg://postgres@127.0.0.1:5432/test）"; exit 1; fi
	@mkdir -p $(TMPDIR_TESTS)
	$(BIN)/python -m pytest --basetemp=$(TMPDIR_TESTS)/postgres $(PYTEST_ARGS)

# The whole suite on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set. The two passes run side by
# side (each waits mostly on browsers, servers and fsync, so together they take little more than one);
# each one's output is printed whole when it ends.
test: lint install testdeps
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  $(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres; \
	else $(MAKE) --no-print-directory test-sqlite; \
	  echo "TEST_DATABASE_URL 未設定のため PostgreSQL での実行は省略しました（.ci/run は設定します）。"; fi

clean:
	rm -rf $(VENV) instance manuals_repo .pytest_cache .ruff_cache
