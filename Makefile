# Each target builds its own virtual environment from scratch when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q -c constraints.txt

.PHONY: demo test bench venv clean

$(BIN)/gradfit: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(PIP) -e ".[all,test]"
	touch $(BIN)/gradfit

venv: $(BIN)/gradfit

demo: venv
	$(BIN)/gradfit demo

test: venv
	$(BIN)/python -m pytest -n 2 -q

bench: venv
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) gradfit-output
