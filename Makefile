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

## Throughput with wrk against a release build; figures go to docs/BENCHMARKS.md.
bench: release
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }
	@command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server redis-tools; }
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) bash bench/floor.sh
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) bash bench/pipeline.sh
	@command -v valgrind >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq valgrind; }
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) $(PYTHON) bench/instructions.py
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) bash bench/run.sh
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) bash bench/cache_aside.sh
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) bash bench/tls.sh
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) bash bench/acl.sh
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) $(PYTHON) bench/ratelimit.py
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) $(PYTHON) bench/sse_fanout.py 20000 5
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) N_KEYS=1000000 $(PYTHON) bench/memory_per_key.py
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) $(PYTHON) bench/connection_memory.py 10000
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) $(PYTHON) bench/footprint.py
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) $(PYTHON) bench/lock_hold.py 1000000
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) STRING_SHAPE=session N_ELEMENTS=10000 $(PYTHON) bench/persistence.py
	$(SWIFT) run -c release EngineBench
	$(SWIFT) run -c release RouterBench
	KEYWAY_BIN=$(abspath $(RELEASE_BIN)) $(PYTHON) bench/eviction_hit_ratio.py

clean:
	rm -rf .build $(VENV)
