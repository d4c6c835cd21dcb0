# Two commands do everything on a fresh clone: `make figures` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0
# Kernel matrices of mid size can stall with many BLAS threads on these machines.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: all install figures test lint unit notebooks bench clean

all: test

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

figures: $(STAMP)
	$(PY) -m kernelflows.figures --out figures

lint: $(STAMP)
	$(VENV)/bin/ruff check kernelflows tests bench lectures
	$(VENV)/bin/ruff format --check kernelflows tests bench

unit: $(STAMP)
	$(PY) -m pytest -n 2 tests

notebooks: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile --nbval --nbval-current-env -p no:randomly lectures

test: lint unit notebooks

bench: $(STAMP)
	for f in bench/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
