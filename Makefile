# mailrobot: `make run` starts the whole system, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# Debian packages the running system needs: command=package.
RUN_PACKAGES := redis-server=redis-server
# ... and what the tests start on loopback besides.
TEST_PACKAGES := $(RUN_PACKAGES) chromium=chromium
# PostgreSQL (every database test runs on it too; its server binaries are off the PATH, so the check
# is postgresql-common's pg_ctlcluster) and Dovecot (the IMAP intake's tests).
TEST_PACKAGES += pg_ctlcluster=postgresql /usr/lib/dovecot/imap=dovecot-imapd
# Phone (issue 9): espeak-ng speaks, sox resamples to 8 kHz for the phone line, baresip calls.
TEST_PACKAGES += espeak-ng=espeak-ng sox=sox baresip=baresip-core

.PHONY: run test bench install run-deps test-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run-deps:
	@scripts/ensure-apt.sh $(RUN_PACKAGES)

test-deps:
	@scripts/ensure-apt.sh $(TEST_PACKAGES)

run: $(STAMP) run-deps
	$(BIN)/mailrobot up

test: $(STAMP) test-deps
	$(BIN)/python -m pytest

bench: $(STAMP) test-deps
	$(BIN)/python bench/classifier.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/worker_cpu.py
	$(BIN)/python bench/imap.py
	$(BIN)/python bench/informer.py
	$(BIN)/python bench/phone.py

clean:
	rm -rf $(VENV) var .pytest_cache
