# Everything a fresh machine with python3 and make needs: `make demo` and `make test` install into .venv first
# (with the `sandbox` extra: moto's server, which `evctl demo` runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install test lint typecheck pytest demo docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[sandbox,test]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check evctl tests bench scripts

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

demo: install
	$(BIN)/evctl demo

docs: install
	$(BIN)/python scripts/gen_command_reference.py > docs/commands.md.tmp && mv docs/commands.md.tmp docs/commands.md
	$(BIN)/python scripts/gen_doctor_doc.py > docs/doctor.md.tmp && mv docs/doctor.md.tmp docs/doctor.md

bench: install
	for b in bench/[!_]*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
