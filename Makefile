# Régua: `make demo` runs the platform with a demo portfolio; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Every library and service is its own package; the workspace installs them all, editable.
PACKAGES := $(sort $(dir $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)))
PYPROJECTS := $(foreach p,$(PACKAGES),$(p)pyproject.toml)

PROTOS := $(wildcard proto/regua/*/v*/*.proto)

.PHONY: install proto demo test test-unit bench lint fmt clean

install: $(VENV)/.installed gen/python/.generated

# gRPC stubs (proto/README.md): installing libs/regua-proto generates them; this regenerates on change.
proto: gen/python/.generated
gen/python/.generated: $(PROTOS) proto/generate.py $(VENV)/.installed
	$(BIN)/python proto/generate.py
	touch $@

$(VENV)/.installed: $(PYPROJECTS) constraints.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt $(foreach p,$(PACKAGES),-e $(p)) -r requirements-dev.txt
	touch $@

demo: install
	$(BIN)/python -m regua_localstack.demo

test: install
	$(BIN)/python -m pytest -q

test-unit: install
	$(BIN)/python -m pytest -q -m "not e2e" libs services

# Each benchmark prints its figures; docs/PERFORMANCE.md records them with the command that produced them.
bench: install
	$(BIN)/python -m bench
	$(BIN)/python -m bench.ruler
	$(BIN)/python -m bench credit
	$(BIN)/python -m bench dispatch

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy $(foreach d,$(wildcard libs/*/src/regua_* services/*/src/regua_*),-p $(notdir $(d)))

fmt: install
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) gen .pytest_cache .mypy_cache .ruff_cache
