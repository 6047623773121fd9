# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck sample clean

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
test: lint typecheck
	$(BIN)/pytest -n 2 --dist loadfile \
	  --disable-socket --allow-unix-socket --allow-hosts=127.0.0.1,::1,localhost

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
