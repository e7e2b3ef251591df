PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,torch]'
	touch $(STAMP)

run: setup
	$(PY) run_all_training.py --parallel

test: setup
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs results .runall-cache
