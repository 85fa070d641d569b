# Two commands for a newcomer: `make demo` (set up everything, run the demo end to end) and `make test`.
# Needs: Python 3.11, Java 17+, Maven (Delta's jars), and for the demo corpus apt-get + npm (Debian packages).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
DOCS   ?= 20000

.PHONY: setup jars demo test lint bench clean-lake

setup: $(VENV)/.installed jars

# One pip command with every pin (constraints.txt), so exactly one torch is ever installed.
$(VENV)/.installed: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel
	$(BIN)/pip install --quiet -c constraints.txt -e ".[airflow,dev]"
	touch $@

# Delta Lake's jars, matched to the installed pyspark, fetched once by Maven into .jars/.
jars: $(VENV)/.installed
	$(BIN)/python -m jobs.jars

demo: setup
	@ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -qq
	$(BIN)/mixlake demo --docs $(DOCS)

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Each prints a ratio against a baseline measured in the same run; cluster.py reads the demo lake's embeddings.
bench: setup
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/embed.py
	$(BIN)/python benchmarks/cluster.py --lake lake
	$(BIN)/python benchmarks/proxy.py --lake lake
	$(BIN)/python benchmarks/search.py --lake lake

clean-lake:
	rm -rf lake
