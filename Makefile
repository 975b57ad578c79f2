# Two entry points: `make demo` (the live system) and `make test` (everything, real Kafka).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test unit rust-test integration bench demo kafka-jars clean

# The native core (core/) is compiled by the editable install: re-install when it changes.
$(STAMP): pyproject.toml core/Cargo.toml core/Cargo.lock $(wildcard core/src/*.rs)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

kafka-jars: venv
	$(BIN)/nichewatch kafka fetch

# Unit tests first (fast, no broker), then integration and end-to-end tests on a real broker.
test: venv kafka-jars rust-test
	$(BIN)/pytest tests/unit -q
	$(BIN)/pytest tests --ignore=tests/unit -q --durations=10

unit: venv
	$(BIN)/pytest tests/unit -q

# The crate's own tests (linked against the venv's Python) and its lints.
rust-test: venv
	PYO3_PYTHON=$(abspath $(BIN)/python) cargo test --manifest-path core/Cargo.toml --quiet
	PYO3_PYTHON=$(abspath $(BIN)/python) cargo clippy --manifest-path core/Cargo.toml --all-targets --quiet -- -D warnings

integration: venv kafka-jars
	$(BIN)/pytest tests --ignore=tests/unit -q

bench: venv kafka-jars
	$(BIN)/python bench/run.py

demo: venv kafka-jars
	$(BIN)/nichewatch demo

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .nichewatch core/target streams/_native*.so
