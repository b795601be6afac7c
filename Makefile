# Two entry points: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
APT_PACKAGES := prometheus prometheus-alertmanager docker-compose
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-fast lint deps system-deps venv clean bench-nab bench-nab-gaps bench-nab-offset bench-nab-coarser bench-weekly bench-loghub bench-log-headers bench-log-glob bench-log-pairs bench-log-long-lines bench-rca-synthetic

deps: system-deps venv

# Debian's prometheus and prometheus-alertmanager ship promtool and amtool too.
system-deps:
	@for bin in prometheus promtool prometheus-alertmanager amtool docker-compose; do command -v $$bin >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  echo ">> installing Debian packages: $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $(APT_PACKAGES); \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo ">> creating virtualenv $(VENV) with the project and its test extras"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'  # test = all (both programs, prophet) + dask + the test and lint tools
	@touch $@

# Lint (ruff: style and import order) and types (mypy) of the code, then every test.
test: deps lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Unit tests only (no binary started): under a minute.
test-fast: venv
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m mypy

demo: deps
	$(PY) -m demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .demo .pytest_cache

# Detection quality on NAB (../shared/nab by default): prints a table, writes benchmarks/results/nab.json
bench-nab: venv
	$(PY) -m benchmarks.nab $(BENCH_ARGS)

bench-nab-gaps: venv
	$(PY) -m benchmarks.nab --gaps $(BENCH_ARGS)

bench-nab-offset: venv
	$(PY) -m benchmarks.nab --offset $(BENCH_ARGS)

# The same files read at a twice coarser step (each two rows averaged): writes benchmarks/results/nab_coarser.json
bench-nab-coarser: venv
	$(PY) -m benchmarks.nab --coarser 2 $(BENCH_ARGS)

# A generated fleet of weekly series (quiet weekends), default model against the weekly profile off: results/weekly.json
bench-weekly: venv
	$(PY) -m benchmarks.weekly $(BENCH_ARGS)

# Log template quality on Loghub (../shared/loghub by default): prints a table, writes benchmarks/results/loghub.json
bench-loghub: venv
	$(PY) -m benchmarks.loghub $(BENCH_ARGS)

# One glob source over a file per Loghub system, written in turns: benchmarks/results/log_glob.json
bench-log-glob: venv
	$(PY) -m benchmarks.log_glob $(BENCH_ARGS)

# Every pair of Loghub systems merged into one stream (a container's stdout and stderr): benchmarks/results/log_pairs.json
bench-log-pairs: venv
	$(PY) -m benchmarks.log_pairs $(BENCH_ARGS)

# Line-format detection on 68 common header layouts and 2 CSV records around Loghub's labelled messages: benchmarks/results/log_headers.json
bench-log-headers: venv
	$(PY) -m benchmarks.log_headers $(BENCH_ARGS)

# The log miner's cost on long hostile tokens (masks, formats, detection, mining; linear or quadratic): benchmarks/results/log_long_lines.json
bench-log-long-lines: venv
	$(PY) -m benchmarks.log_long_lines $(BENCH_ARGS)

# Root cause from metrics on generated incidents (random graphs, untraced leaves and balancers): benchmarks/results/rca_synthetic.json
bench-rca-synthetic: venv
	$(PY) -m benchmarks.rca_synthetic --output benchmarks/results/rca_synthetic.json $(BENCH_ARGS)
