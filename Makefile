# libcce — build, demo and test entry points.
#
#   make demo   run the main flow on the embedded CTI simulator
#   make test   every suite: Rust, C, C++, Python, Node, drift checks, clippy, fmt
#   make dist   release artefacts in dist/: Python wheel + sdist, npm tarballs, C/C++ SDK
#   make install PREFIX=/usr/local DESTDIR=   the C/C++ SDK (include/, lib/)
#
# Only the Rust toolchain, Python 3 and Node are assumed; everything else
# (C/C++ compiler, cbindgen, a Python venv with maturin/pytest, npm packages)
# is installed on first use.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO      ?= cargo
PYTHON     ?= python3
ROOT       := $(abspath .)
BUILD      := $(ROOT)/build
TOOLS      := $(ROOT)/.tools
VENV       := $(ROOT)/.venv
TARGET     := $(ROOT)/target
LIBDIR     := $(TARGET)/debug
CBINDGEN_VERSION := 0.29.4
CBINDGEN   := $(TOOLS)/bin/cbindgen
CFLAGS     := -Wall -Wextra -Werror -std=c11 -D_POSIX_C_SOURCE=200809L -I$(ROOT)/include
CXXFLAGS   := -Wall -Wextra -Werror -std=c++17 -I$(ROOT)/include
export CARGO_TERM_COLOR := never

.PHONY: help demo test build deps deps-cc deps-python deps-node gen gen-check header header-check \
        fmt-check clippy test-rust test-c test-python test-node test-fuzz fuzz bench \
        test-gc test-gc-suites test-siebel test-siebel-broker siebel-build deps-siebel test-pki

help:
	@echo "make demo   - run the agent/call demo on the embedded CTI simulator"
	@echo "make test   - run every test suite (installs missing tools first)"
	@echo "make gen    - regenerate the CTI tables from ../shared/spec/cti"
	@echo "make header - regenerate include/cce.h with cbindgen"
	@echo "make fuzz   - run every fuzz target for 10 minutes (make test replays 400,000 inputs each)"
	@echo "make bench  - criterion benchmarks of the codec (see docs/PERFORMANCE.md)"
	@echo "make test-gc - Generic Connector suites against a throw-away ActiveMQ broker"
	@echo "make dist    - release artefacts in dist/ (wheel, sdist, npm tarballs, C/C++ SDK)"
	@echo "make install - install the C/C++ SDK under \$$(DESTDIR)\$$(PREFIX) (default /usr/local)"
	@echo "make test-package - install every artefact of dist/ and use it without cargo"
	@echo "make test-sdist - build the Python sdist of dist/ from scratch and use it (slow)"
	@echo "make test-siebel - the Siebel driver through its harness (CTI and GC simulators, valgrind)"

demo:
	$(CARGO) run -q -p libcce --example demo
	$(CARGO) run -q -p libcce --example gc_demo

build:
	$(CARGO) build -p libcce -p libcce-ffi

# ---------------------------------------------------------------------------
# Tools a fresh machine may lack.

APT_UPDATED := $(BUILD)/.apt-updated
$(APT_UPDATED):
	@mkdir -p $(BUILD)
	apt-get update -qq
	@touch $@

deps-cc:
	@if ! command -v cc >/dev/null || ! command -v c++ >/dev/null; then \
	  $(MAKE) -s $(APT_UPDATED); \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential; \
	fi

$(CBINDGEN):
	$(CARGO) install --quiet --locked --root $(TOOLS) cbindgen --version $(CBINDGEN_VERSION)

$(VENV)/.ready: bindings/python/pyproject.toml
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 || ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
	  $(MAKE) -s $(APT_UPDATED); \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q "maturin>=1.7,<2" "pytest>=8"
	@touch $@

deps-python: $(VENV)/.ready

bindings/node/node_modules/.package-lock.json: bindings/node/package-lock.json
	cd bindings/node && npm ci --no-audit --no-fund

deps-node: bindings/node/node_modules/.package-lock.json

deps: deps-cc $(CBINDGEN) deps-python deps-node

# ---------------------------------------------------------------------------
# Generated files and their drift checks.

gen:
	$(PYTHON) tools/gen_cti.py

gen-check:
	$(PYTHON) tools/gen_cti.py --check

header: $(CBINDGEN)
	$(CBINDGEN) --config ffi/cbindgen.toml --crate libcce-ffi --output include/cce.h ffi 2>/dev/null

header-check: $(CBINDGEN)
	@mkdir -p $(BUILD)
	$(CBINDGEN) --config ffi/cbindgen.toml --crate libcce-ffi --output $(BUILD)/cce.h ffi 2>/dev/null
	@if ! cmp -s $(BUILD)/cce.h include/cce.h; then \
	  diff -u include/cce.h $(BUILD)/cce.h | head -40; \
	  echo "include/cce.h is stale: run 'make header' and commit it"; exit 1; \
	fi
	@echo "header-check: include/cce.h is up to date"

# ---------------------------------------------------------------------------
# Lints.

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# ---------------------------------------------------------------------------
# Suites.

test-rust:
	$(CARGO) test -p libcce -p libcce-ffi -p libcce-cli
	$(CARGO) run -q -p libcce --example agent_session >/dev/null
	$(CARGO) run -q -p libcce --example demo >/dev/null
	$(CARGO) run -q -p libcce --example gc_demo >/dev/null
	$(CARGO) run -q -p libcce --example ece_chat >/dev/null
	$(CARGO) run -q -p libcce --example readme >/dev/null

# Throw-away TLS key material for the C, Python and Node TLS tests (fresh every run).
PKI := $(BUILD)/pki
test-pki:
	rm -rf $(PKI)
	$(CARGO) run -q -p libcce --example test_pki -- $(PKI)

test-c: deps-cc test-pki
	$(CARGO) build -p libcce-ffi
	@mkdir -p $(BUILD)
	cc $(CFLAGS) ffi/tests/test_abi.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_abi
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_abi
	cc $(CFLAGS) ffi/tests/test_gc.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_gc
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_gc
	cc $(CFLAGS) ffi/tests/test_ece.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_ece
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_ece
	cc $(CFLAGS) ffi/tests/test_sim.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_sim
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_sim
	cc $(CFLAGS) ffi/tests/test_pipeline.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_pipeline
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_pipeline
	cc $(CFLAGS) ffi/tests/test_typed.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_typed
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_typed
	cc $(CFLAGS) ffi/tests/test_log.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_log
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_log
	cc $(CFLAGS) ffi/tests/test_handles.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_handles
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_handles
	cc $(CFLAGS) ffi/tests/test_tls.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_tls
	CCE_TEST_PKI=$(PKI) LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_tls
	cc $(CFLAGS) examples/c/agent_session.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/agent_session_c
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/agent_session_c >/dev/null
	cc $(CFLAGS) examples/c/ece_chat.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/ece_chat_c
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/ece_chat_c >/dev/null
	cc $(CFLAGS) examples/c/gc_agent.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/gc_agent_c
	env -u CCE_STOMP_ADDR LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/gc_agent_c >/dev/null
	c++ $(CXXFLAGS) examples/cpp/siebel_poll.cpp -L$(LIBDIR) -lcce -o $(BUILD)/siebel_poll
	LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/siebel_poll >/dev/null
	# The same example linked statically against libcce.a.
	c++ $(CXXFLAGS) examples/cpp/siebel_poll.cpp $(LIBDIR)/libcce.a -lpthread -ldl -lm -o $(BUILD)/siebel_poll_static
	$(BUILD)/siebel_poll_static >/dev/null
	@echo "test-c: C ABI tests and C/C++ examples passed"

test-python: deps-python test-pki
	rm -rf $(TARGET)/wheels
	$(VENV)/bin/maturin build --quiet -m bindings/python/Cargo.toml -o $(TARGET)/wheels
	$(VENV)/bin/pip install -q --force-reinstall --no-deps $(TARGET)/wheels/libcce-*.whl
	cd $(BUILD) 2>/dev/null || mkdir -p $(BUILD)
	cd $(BUILD) && CCE_TEST_PKI=$(PKI) $(VENV)/bin/python -m pytest -q $(ROOT)/bindings/python/tests
	$(VENV)/bin/python examples/python/agent_session.py >/dev/null
	$(VENV)/bin/python examples/python/ece_chat.py >/dev/null
	env -u CCE_STOMP_ADDR $(VENV)/bin/python examples/python/gc_agent.py >/dev/null

test-node: deps-node test-pki
	cd bindings/node && npm run --silent build && CCE_TEST_PKI=$(PKI) npm test
	node examples/node/agent_session.mjs >/dev/null
	node examples/node/ece_chat.mjs >/dev/null
	env -u CCE_STOMP_ADDR node examples/node/gc_agent.mjs >/dev/null

# make test replays a fixed sequence (seed and execution count), so that CI is
# reproducible; `make fuzz` explores with a random seed (docs/FUZZING.md).
test-fuzz: deps-cc
	FUZZ_SEED=1 FUZZ_RUNS=400000 bash fuzz/run.sh 120

fuzz: deps-cc
	bash fuzz/run.sh 600

bench:
	$(CARGO) bench -p libcce --bench codec --profile profiling
	$(PYTHON) core/benches/summary.py

# End-to-end benchmark (bench/e2e/README.md, docs/PERFORMANCE.md): release builds of the
# C ABI and both bindings, the C programs against target/release/libcce.so, then one table
# of figures and ratios measured in the same run. Not part of `make test`. Sizes:
# BENCH_EVENTS, BENCH_BINDING_EVENTS, BENCH_REQUESTS, BENCH_SESSIONS, BENCH_SLOW_SECONDS.
# The typed consumer is compiled only when include/cce.h has cti_open_typed.
.PHONY: bench-e2e
BENCH_E2E_OUT    := $(BUILD)/bench-e2e
BENCH_E2E_CFLAGS := -O2 -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE -I$(ROOT)/include
bench-e2e: deps-cc deps-python deps-node
	$(CARGO) build --release -p libcce-ffi
	@mkdir -p $(BENCH_E2E_OUT)
	# The release library carries the SONAME libcce.so.0: the programs find it by rpath.
	ln -sf $(TARGET)/release/libcce.so $(BENCH_E2E_OUT)/libcce.so.0
	typed=""; if grep -q cti_open_typed include/cce.h; then typed=-DCTI_TYPED_EVENTS_AVAILABLE; fi; \
	for p in blaster consume request scale slow; do \
	  cc $(BENCH_E2E_CFLAGS) $$typed bench/e2e/$$p.c -L$(TARGET)/release -lcce -lpthread \
	    -Wl,-rpath,$(BENCH_E2E_OUT) -o $(BENCH_E2E_OUT)/$$p; \
	done
	rm -rf $(TARGET)/wheels-release
	$(VENV)/bin/maturin build --quiet --release -m bindings/python/Cargo.toml -o $(TARGET)/wheels-release
	$(VENV)/bin/pip install -q --force-reinstall --no-deps $(TARGET)/wheels-release/libcce-*.whl
	cd bindings/node && node scripts/build.js --release
	$(PYTHON) bench/e2e/run.py --bin-dir $(BENCH_E2E_OUT) \
	  --python $(VENV)/bin/python --node node

# Generic Connector: every GC suite against a real Apache ActiveMQ broker, which
# scripts/activemq.sh installs if missing (Debian package `activemq`), starts on a free
# loopback STOMP port and stops at the end. Nothing is skipped here: CCE_REQUIRE_BROKER
# turns a missing broker into a failure.
test-gc: deps-cc deps-python deps-node
	bash scripts/activemq.sh run $(MAKE) -s test-gc-suites

test-gc-suites:
	@test -n "$${CCE_STOMP_ADDR:-}" || { echo "test-gc-suites: run it through 'make test-gc'"; exit 1; }
	CCE_REQUIRE_BROKER=1 $(CARGO) test -p libcce --test gc_flow --test gc_activemq --test gc_activemq_restart --test gc_activemq_tls
	CCE_REQUIRE_BROKER=1 $(CARGO) test -p libcce-cli --test bridge
	$(CARGO) build -p libcce-ffi
	@mkdir -p $(BUILD)
	cc $(CFLAGS) ffi/tests/test_gc.c -L$(LIBDIR) -lcce -lpthread -o $(BUILD)/test_gc
	CCE_REQUIRE_BROKER=1 LD_LIBRARY_PATH=$(LIBDIR) $(BUILD)/test_gc
	rm -rf $(TARGET)/wheels
	$(VENV)/bin/maturin build --quiet -m bindings/python/Cargo.toml -o $(TARGET)/wheels
	$(VENV)/bin/pip install -q --force-reinstall --no-deps $(TARGET)/wheels/libcce-*.whl
	cd $(BUILD) && CCE_REQUIRE_BROKER=1 $(VENV)/bin/python -m pytest -q $(ROOT)/bindings/python/tests/test_gc.py $(ROOT)/bindings/python/tests/test_gc_field.py
	$(VENV)/bin/python examples/python/gc_agent.py >/dev/null
	cd bindings/node && npm run --silent build && CCE_REQUIRE_BROKER=1 node --test test/gc.test.mjs
	node examples/node/gc_agent.mjs >/dev/null
	$(MAKE) -s test-siebel-broker
	@echo "test-gc: GC suites passed against ActiveMQ $${CCE_STOMP_ADDR}"

# ---------------------------------------------------------------------------
# Release artefacts (docs/PACKAGING.md). One release build of libcce-ffi and libcce-node
# feeds the SDK and the npm packages; the wheel is linked by zig against glibc 2.17
# (manylinux2014), which needs a build of its own.

DIST       := $(ROOT)/dist
VERSION    := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -1)
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: dist dist-release dist-sdk dist-node dist-python install test-package test-sdist fuzz-lock

dist-release:
	$(CARGO) build --release -p libcce-ffi -p libcce-node

$(VENV)/.zig: $(VENV)/.ready
	$(VENV)/bin/pip install -q "ziglang>=0.17,<0.18"
	@touch $@

dist-sdk: dist-release
	bash scripts/dist.sh sdk $(DIST)

dist-node: dist-release
	bash scripts/dist.sh node $(DIST)

dist-python: deps-python $(VENV)/.zig
	@mkdir -p $(DIST)
	rm -f $(DIST)/libcce-*.whl $(DIST)/libcce-$(VERSION).tar.gz
	PATH="$(VENV)/bin:$$PATH" maturin build --quiet --release --strip --zig \
	  --compatibility manylinux2014 -m bindings/python/Cargo.toml -o $(DIST)
	PATH="$(VENV)/bin:$$PATH" maturin sdist -m bindings/python/Cargo.toml -o $(DIST)

dist: dist-sdk dist-node dist-python
	@bash scripts/dist.sh sizes $(DIST)

install: dist-release
	bash scripts/dist.sh install "$(DESTDIR)" "$(PREFIX)"

# Installs the artefacts of dist/ (wheel into a fresh venv, npm tarballs into an empty
# directory, SDK into a temporary prefix) and uses each with no cargo on PATH.
test-package: deps-cc deps-python
	bash scripts/test_package.sh $(DIST)

# Builds the sdist of dist/ from scratch in a fresh venv and uses it (a full release
# build: not part of `make test`).
test-sdist:
	bash scripts/test_sdist.sh $(DIST)

# fuzz/ has its own Cargo.lock: refresh it from the root one after a dependency change.
fuzz-lock:
	cp Cargo.lock fuzz/Cargo.lock
	$(CARGO) metadata --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null


# Siebel communications driver (examples/siebel, docs/siebel.md).

SIEBEL_DIR  := $(ROOT)/examples/siebel
SIEBEL_OUT  := $(BUILD)/siebel
SIEBEL_SRCS := $(addprefix $(SIEBEL_DIR)/,driver.cpp isc_text.cpp backend_cti.cpp backend_gc.cpp)
SIEBEL_FLAGS := $(CXXFLAGS) -I$(SIEBEL_DIR)

deps-siebel: deps-cc
	@if [ ! -f /usr/include/nlohmann/json.hpp ] || ! command -v valgrind >/dev/null; then \
	  $(MAKE) -s $(APT_UPDATED); \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nlohmann-json3-dev valgrind; \
	fi

# libcce_siebel.so and the harness.
siebel-build: deps-siebel
	$(CARGO) build -p libcce-ffi
	@mkdir -p $(SIEBEL_OUT)
	c++ $(SIEBEL_FLAGS) -fPIC -fvisibility=hidden -shared $(SIEBEL_SRCS) -L$(LIBDIR) -lcce -lpthread \
	  -o $(SIEBEL_OUT)/libcce_siebel.so
	c++ $(SIEBEL_FLAGS) $(SIEBEL_DIR)/harness.cpp -L$(LIBDIR) -lcce -ldl -lpthread -o $(SIEBEL_OUT)/harness

# Checks the driver also compiles against a scapi.h laid out differently from ours, then
# runs the harness on the CTI simulator (side A dies during a call), on the GC simulator
# with an in-memory broker, and one login/logout cycle under valgrind (no definite leak).
test-siebel: siebel-build
	for f in $(SIEBEL_SRCS); do \
	  c++ $(SIEBEL_FLAGS) -fsyntax-only '-DCCE_SIEBEL_SCAPI_HEADER=<scapi.h>' \
	    -I$(SIEBEL_DIR)/testdata/other_scapi $$f; \
	done
	LD_LIBRARY_PATH=$(LIBDIR) $(SIEBEL_OUT)/harness $(SIEBEL_OUT)/libcce_siebel.so cti >$(SIEBEL_OUT)/cti.log \
	  || { tail -40 $(SIEBEL_OUT)/cti.log; exit 1; }
	LD_LIBRARY_PATH=$(LIBDIR) $(SIEBEL_OUT)/harness $(SIEBEL_OUT)/libcce_siebel.so gc embedded >$(SIEBEL_OUT)/gc.log \
	  || { tail -40 $(SIEBEL_OUT)/gc.log; exit 1; }
	LD_LIBRARY_PATH=$(LIBDIR) valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
	  --show-leak-kinds=definite --error-exitcode=99 \
	  $(SIEBEL_OUT)/harness $(SIEBEL_OUT)/libcce_siebel.so cycle >$(SIEBEL_OUT)/cycle.log \
	  || { tail -40 $(SIEBEL_OUT)/cycle.log; exit 1; }
	@echo "test-siebel: harness passed on the CTI and GC simulators; no leak across login/logout"

# The harness on the GC simulator over a real ActiveMQ broker (run by test-gc-suites).
test-siebel-broker: siebel-build
	@test -n "$${CCE_STOMP_ADDR:-}" || { echo "test-siebel-broker: run it through 'make test-gc'"; exit 1; }
	LD_LIBRARY_PATH=$(LIBDIR) $(SIEBEL_OUT)/harness $(SIEBEL_OUT)/libcce_siebel.so gc "$${CCE_STOMP_ADDR}" \
	  >$(SIEBEL_OUT)/gc-activemq.log || { tail -40 $(SIEBEL_OUT)/gc-activemq.log; exit 1; }
	@echo "test-siebel-broker: harness passed on ActiveMQ $${CCE_STOMP_ADDR}"

test: gen-check header-check fmt-check clippy test-rust test-c test-python test-node test-gc test-siebel dist test-package test-fuzz
	@echo "make test: all suites passed"
