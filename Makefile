# xinde — two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
OUT    ?= reports/sample

.PHONY: install run test test-fast bench eval lint clean help

help:
	@echo "make run    install into .venv and run xinde on corpora/sample -> $(OUT)/"
	@echo "make test   install into .venv and run the test suite"
	@echo "make bench  speed/memory benchmarks (needs ../shared/corpora; skips if absent)"
	@echo "make eval   accuracy evaluations (copy detection, themes, engagement)"

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=23" "setuptools>=64,<80" wheel
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Exit code 3 = outputs written, some files skipped (the sample has one broken file on purpose).
run: install
	$(BIN)/xinde run corpora/sample --out $(OUT) --policy models/policy/zhengji-kaohe-notice.txt \
		--templates corpora/templates; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 3 ]
	@echo "open $(OUT)/index.html in a browser"

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: install
	$(BIN)/python bench/run_bench.py

eval: install
	$(BIN)/python bench/run_eval.py

lint: install
	$(BIN)/python -m compileall -q pipeline tests

clean:
	rm -rf $(VENV) reports build *.egg-info
