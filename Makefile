# Keyway: `make run` serves on 127.0.0.1:7379, `make test` builds and runs every test.

SWIFT        ?= swift
PYTHON       ?= python3
VENV         := .venv
RELEASE_BIN  := .build/release/keyway
DEBUG_BIN    := .build/debug/keyway
SUDO         := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
APT_PACKAGES := libmicrohttpd-dev libgnutls28-dev pkg-config liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
# Tests also check snapshot and AOF compatibility with Redis's own tools,
# CORS from a real headless browser, and HTTPS with certificates openssl
# makes, driven by curl.
TEST_PACKAGES := redis-server redis-tools chromium chromium-driver openssl curl

.PHONY: all deps test-deps build release run test test-swift test-python test-python-cluster check-docker bench clean

all: build

## Install the system packages the build needs, only when missing.
deps:
	@missing=""; \
	pkg-config --exists libmicrohttpd gnutls 2>/dev/null || missing="$(APT_PACKAGES)"; \
	pkg-config --exists lua5.1 lua5.1-cjson lua5.1-bitop 2>/dev/null || missing="$(APT_PACKAGES)"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	fi

## What the tests need beyond the build: Redis's tools and Python's venv.
test-deps: deps
	@missing=""; \
	command -v redis-server >/dev/null && command -v redis-check-rdb >/dev/null && command -v redis-check-aof >/dev/null \
	  || missing="$(TEST_PACKAGES)"; \
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || missing="$(TEST_PACKAGES)"; \
	command -v openssl >/dev/null && command -v curl >/dev/null || missing="$(TEST_PACKAGES)"; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## Build release and serve with defaults (127.0.0.1:7379). Extra flags: make run ARGS="--token s3cret"
run: release
	$(RELEASE_BIN) serve $(ARGS)

## Every test: Swift unit and HTTP tests, then the Python suite (OpenAPI, Upstash SDK, HTTP API, Docker libs),
## on the embedded engine and again on the cluster backend.
test: test-swift test-python test-python-cluster check-docker

test-swift: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

$(VENV)/.installed: Tests/python/requirements.txt | test-deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r Tests/python/requirements.txt
	touch $@

test-python: test-deps $(VENV)/.installed
	$(SWIFT) build
	KEYWAY_BIN=$(abspath $(DEBUG_BIN)) $(VENV)/bin/pytest -q Tests/python

## The same Python suite against `--backend cluster` in front of a real Redis 7 cluster
## (three masters, three replicas on loopback) that the run starts; what it skips, and why:
## Tests/python/cluster_skips.py.
test-python-cluster: test-deps $(VENV)/.installed
	$(SWIFT) build
	KEYWAY_BIN=$(abspath $(DEBUG_BIN)) KEYWAY_TEST_BACKEND=cluster $(VENV)/bin/pytest -q Tests/python

## Every shared library the release binary links must come from a package the Docker runtime stage installs.
check-docker: release
	bash scripts/check-docker-libs.sh $(RELEASE_BIN)

## Every benchmark, each beside its reference, in one run: bench/all.sh (the log goes to
## bench/last-bench.log); the figures go to docs/BENCHMARKS.md.
bench: release
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }
	@command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server redis-tools; }
	@command -v valgrind >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq valgrind; }
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) PYTHON=$(PYTHON) SWIFT=$(SWIFT) bash bench/all.sh

clean:
	rm -rf .build $(VENV)
