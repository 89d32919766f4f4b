# Régua: `make demo` runs the platform with a demo portfolio; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PACKAGES := libs/regua-contracts libs/regua-platform libs/regua-compliance libs/regua-localstack \
            services/ingestion services/ruler services/dispatch_email
PYPROJECTS := $(foreach p,$(PACKAGES),$(p)/pyproject.toml)

.PHONY: install demo test test-unit bench lint fmt clean

install: $(VENV)/.installed

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

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy -p regua_contracts -p regua_platform -p regua_compliance -p regua_localstack -p regua_ingestion -p regua_ruler -p regua_dispatch_email

fmt: install
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
