# Each target builds its own virtual environment from scratch when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q -c constraints.txt

.PHONY: demo test fuzz bench bench-dask venv clean system-deps

$(BIN)/gradfit: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(PIP) -e ".[all,test]"
	$(BIN)/python -m gradfit.engines.jit_cache  # compile the epoch kernels into Numba's cache now, not at the first fit
	touch $(BIN)/gradfit

venv: $(BIN)/gradfit

demo: venv
	$(BIN)/gradfit demo

test: venv
	$(BIN)/python -m pytest -n 2 -q

# The fuzzer of tests/test_fuzz.py at length (random data files and model files; a few minutes);
# `make test` runs it bounded. Prints the totals: inputs tried, accepted, clean errors (and any failure).
FUZZ_EXAMPLES ?= 5000
fuzz: venv
	GRADFIT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -n 0 -q -s -p no:cacheprovider tests/test_fuzz.py

bench: venv
	$(BIN)/python benchmarks/whole_fits.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_torch_gpu.py
	$(BIN)/python benchmarks/bench_sparse.py
	$(BIN)/python benchmarks/bench_robust.py

# The Dask table: Parquet data written by the benchmark, a 2-worker LocalCluster of 2 GB each, against one bare
# read of the files, dask-ml and Spark MLlib where installed (a few minutes; rewrites its part of RESULTS.md)
bench-dask: venv
	$(BIN)/python benchmarks/dask_bench.py

# Graphviz (graph rendering), Chromium (report check, playground browser tests) and Noto CJK (Hangul on
# Korean plots) come from Debian; without them gradfit still works (DOT files, English labels, a hint)
# and the tests that need them say why they skip.
system-deps:
	@if command -v dot >/dev/null && command -v chromium >/dev/null && fc-list 2>/dev/null | grep -q "Noto Sans CJK"; \
	then echo "graphviz, chromium and fonts-noto-cjk present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz chromium fonts-noto-cjk >/dev/null; \
	else echo "graphviz/chromium/fonts-noto-cjk missing and not root: install them with your package manager"; fi

clean:
	rm -rf $(VENV) gradfit-output
