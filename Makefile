# featlearn: build the book and run the tests from a fresh clone (needs only Python 3.11 and make).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Progress bars stay silent in the built book and in CI.
export FEATLEARN_PROGRESS := 0

.PHONY: install install-gpu book book-paper site site-paper test lint unit slow-tests notebooks site-tests clean \
        bench mutants \
        colab-test pdf

$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/lock.txt -e ".[book,test]"
	touch $(STAMP)

install: $(STAMP)

## On a machine with an NVIDIA GPU: JAX's CUDA plugin for the pinned JAX (for `book-paper`, `site-paper`, `bench`).
install-gpu: $(STAMP)
	$(BIN)/python -m pip install -q -c requirements/lock.txt "jax[cuda12]==0.10.2"

MATHJAX_VERSION := 3.2.2
MATHJAX := _vendor/mathjax/tex-mml-chtml.js

## MathJax served from the book itself (from the npm registry), so the built book needs no network.
$(MATHJAX):
	rm -rf _build/npm && mkdir -p _build/npm _vendor
	cd _build/npm && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-$(MATHJAX_VERSION).tgz
	rm -rf _vendor/mathjax && cp -r _build/npm/package/es5 _vendor/mathjax

## The whole book as HTML in _build/html, every chapter executed with the default `quick` profile.
book: $(STAMP) $(MATHJAX)
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

## The same with the papers' sizes (for a GPU machine).
book-paper: $(STAMP) $(MATHJAX)
	FEATLEARN_PROFILE=paper $(BIN)/jupyter-book build . --builder html -W -n --keep-going

## The static site to publish: the HTML book plus .nojekyll, in _build/site (`site-paper`: the paper profile).
site: book
	rm -rf _build/site && cp -r _build/html _build/site && touch _build/site/.nojekyll

site-paper: book-paper
	rm -rf _build/site && cp -r _build/html _build/site && touch _build/site/.nojekyll

## Every test: lint, the library's unit tests, every notebook under nbval, the book build with -W, and the
## built book in headless Chromium (served on localhost, no network).
test: lint unit slow-tests notebooks book site-tests

lint: $(STAMP)
	$(BIN)/ruff check lib tests tools book benchmarks
	$(BIN)/python tools/nbsetup.py --check
	$(BIN)/python tools/mutants.py --check

## The unit tests (at most 5 minutes on 2 idle cores), the slowest listed at the end; then the tests marked slow
## (`@pytest.mark.slow`: more than a few seconds each, mostly whole sections at the toy profile). `make test` runs both.
unit: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/site -m "not slow" --durations=15

slow-tests: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/site -m slow --durations=15

site-tests: $(STAMP)
	$(BIN)/python -m pytest tests/site

notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider $$($(BIN)/python tools/nbsetup.py --list)

## Every chapter under nbval on the package versions Colab provides (requirements/colab.txt), in its own
## environment (.venv-colab): each chapter's set-up cell, on its Colab path, installs featlearn from this checkout
## with --no-deps, exactly as on Colab. Colab runs Python 3.13 (used when present). Nightly in CI, not in `make test`.
COLAB_PYTHON ?= $(firstword $(foreach p,python3.13 python3.11 python3,$(shell $(p) -c 'import sys; print(sys.executable)' 2>/dev/null)))
COLAB_VENV   := .venv-colab
COLAB_STAMP  := $(COLAB_VENV)/.installed-stamp
COLAB_WHEEL  := _build/colab-wheel

$(COLAB_STAMP): requirements/colab.txt
	rm -rf $(COLAB_VENV)
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install -q --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install -q -r requirements/colab.txt
	touch $(COLAB_STAMP)

colab-test: $(COLAB_STAMP)
	$(COLAB_VENV)/bin/python -m pip uninstall -q -y featlearn 2>/dev/null || true
	rm -rf $(COLAB_WHEEL) && $(COLAB_VENV)/bin/python -m pip wheel -q --no-deps -w $(COLAB_WHEEL) .
	$(COLAB_VENV)/bin/python -m pip freeze | grep -iE '^(jax|jaxlib|flax|optax|numpy|scipy|matplotlib)=='
	FEATLEARN_COLAB=1 FEATLEARN_SOURCE=$$(ls $(CURDIR)/$(COLAB_WHEEL)/featlearn-*.whl) FEATLEARN_CACHE=0 \
	FEATLEARN_FIGURES=$(CURDIR)/_build/colab-figures MPLBACKEND=Agg \
	  $(COLAB_VENV)/bin/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider \
	  $${CHAPTERS:-$$($(COLAB_VENV)/bin/python tools/nbsetup.py --list)}

## The whole book as one PDF, _build/pdf/featlearn.pdf (also copied into _build/html and, if built, _build/site,
## where the landing page's link to it, hidden until then, is shown): the single-page HTML build printed by the
## installed Chromium. Not in `make test`.
pdf: $(STAMP) $(MATHJAX)
	$(BIN)/jupyter-book build . --builder singlehtml -n --keep-going
	$(BIN)/python tools/printbook.py _build/singlehtml _build/pdf/featlearn.pdf
	$(BIN)/python tools/printbook.py --publish _build/pdf/featlearn.pdf _build/html _build/site

## Every mutant in tests/mutants/ (wrong versions of the library) must turn a named test or chapter red; writes
## tests/mutants/RESULTS.md. On demand, not part of `make test` (about half an hour on 2 cores).
mutants: $(STAMP)
	$(BIN)/python tools/mutants.py

## The benchmarks (benchmarks/, numbers in benchmarks/RESULTS.md); PyTorch comes in for the comparison loop.
bench: $(STAMP)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q -c requirements/lock.txt -e ".[bench]"
	$(BIN)/python -m benchmarks

clean:
	rm -rf _build figures .featlearn_cache _vendor
