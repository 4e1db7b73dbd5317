# featlearn: build the book and run the tests from a fresh clone (needs only Python 3.11 and make).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Progress bars stay silent in the built book and in CI.
export FEATLEARN_PROGRESS := 0

.PHONY: install book test lint unit notebooks bookcheck clean bench

$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/lock.txt -e ".[book,test]"
	touch $(STAMP)

install: $(STAMP)

## The whole book as HTML in _build/html, every chapter executed with the default `quick` profile.
book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

## Every test: lint, the library's unit tests, every notebook under nbval, and the book build with -W.
test: lint unit notebooks book

lint: $(STAMP)
	$(BIN)/ruff check lib tests tools book/_ext
	$(BIN)/python tools/nbsetup.py --check

unit: $(STAMP)
	$(BIN)/python -m pytest tests

notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider $$($(BIN)/python tools/nbsetup.py --list)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf _build figures .featlearn_cache
