# Two entry points: `make demo` (the live system) and `make test` (everything, real Kafka).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test unit integration bench demo kafka-jars clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

kafka-jars: venv
	$(BIN)/nichewatch kafka fetch

# Unit tests first (fast, no broker), then integration and end-to-end tests on a real broker.
test: venv kafka-jars
	$(BIN)/pytest tests/unit -q
	$(BIN)/pytest tests --ignore=tests/unit -q --durations=10

unit: venv
	$(BIN)/pytest tests/unit -q

integration: venv kafka-jars
	$(BIN)/pytest tests --ignore=tests/unit -q

bench: venv kafka-jars
	$(BIN)/python bench/run.py

demo: venv kafka-jars
	$(BIN)/nichewatch demo

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .nichewatch
