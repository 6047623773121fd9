# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000
# The browser tests drive Debian's Chromium; Playwright never downloads a browser.
CHROMIUM ?= /usr/bin/chromium
APT_GET ?= apt-get

.PHONY: run test lint typecheck chromium sample clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[openvino]'
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install -q -e '.[test,openvino]'
	touch $@

run: $(STAMP)
	$(BIN)/paperfeed db upgrade
	$(BIN)/paperfeed ingest --sample --if-empty
	$(BIN)/paperfeed serve --host $(HOST) --port $(PORT)

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# No test may reach the network: sockets only to loopback (and PostgreSQL's unix socket).
test: chromium lint typecheck
	PAPERFEED_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -n 2 --dist loadfile \
	  --disable-socket --allow-unix-socket --allow-hosts=127.0.0.1,::1,localhost

# Missing, Chromium is installed where we may (root, apt-get; CI has no stdin), else we stop
# with one line. PAPERFEED_SKIP_BROWSER_TESTS=1 skips the browser tests instead.
chromium:
	@if [ "$$PAPERFEED_SKIP_BROWSER_TESTS" != 1 ] && [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v $(APT_GET) >/dev/null 2>&1; then \
	    echo "make test: installing Debian's chromium for the browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    $(APT_GET) update -qq </dev/null && $(APT_GET) install -y -qq chromium </dev/null; \
	  fi; \
	  if [ ! -x "$(CHROMIUM)" ]; then \
	    echo "make test: no Chromium at $(CHROMIUM): install Debian's (sudo apt-get install" \
	      "chromium) or set PAPERFEED_SKIP_BROWSER_TESTS=1 to skip the browser tests" >&2; \
	    exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
