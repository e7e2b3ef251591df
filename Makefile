PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,torch,mlflow]'
	touch $(STAMP)

run: setup
	$(PY) run_all_training.py --parallel

test: setup
	$(PY) -m pytest -q

# Side-by-side measurements (5-10 minutes on 2 cores); writes benchmarks/RESULTS.md.
bench: setup
	@command -v parallel >/dev/null 2>&1 || echo "bench: GNU parallel is not installed (apt-get install parallel); its column is skipped"
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) runs results
