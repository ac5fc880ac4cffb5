# voc — two commands on a fresh machine:  make demo   and   make test
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-out
SAMPLE := datasets/sample

.PHONY: demo test test-fast typecheck install lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need Python 3.11 ($(PY))"; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of torch that lies on this machine's disk, never a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/voc analyze $(SAMPLE)/feedback.csv $(SAMPLE)/chats.jsonl $(SAMPLE)/calls \
		--tickets $(SAMPLE)/tickets.csv --journey $(SAMPLE)/journey.yaml -o $(DEMO_OUT)
	@echo "open $(DEMO_OUT)/report.html (heatmaps in $(DEMO_OUT)/heatmaps/)"

# the whole suite, as CI runs it: lint, type check, every test
test: $(STAMP)
	$(BIN)/ruff check voc models training api tests bench datasets
	$(MAKE) typecheck
	$(BIN)/python -m pytest -n 2 --dist loadfile -p no:cacheprovider

# while you work: lint and the tests not marked slow (under 3 minutes on 2 cores; docs/testing.md)
test-fast: $(STAMP)
	$(BIN)/ruff check voc models training api tests bench datasets
	$(BIN)/python -m pytest -n 2 --dist loadfile -p no:cacheprovider -m "not slow"

# mypy sees the packages under their installed names (voc_api = api/, voc_models = models/): it does not follow
# the editable install's import hook, so build/typecheck holds links named as installed (docs/testing.md)
typecheck: $(STAMP)
	@mkdir -p build/typecheck
	@ln -sfn ../../voc build/typecheck/voc
	@ln -sfn ../../api build/typecheck/voc_api
	@ln -sfn ../../models build/typecheck/voc_models
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml \
		--cache-dir ../../.mypy_cache -p voc -p voc_api -p voc_models

bench: $(STAMP)
	$(BIN)/python bench/throughput.py --rows 100000

clean:
	rm -rf $(DEMO_OUT) .pytest_cache .ruff_cache .mypy_cache build/typecheck
