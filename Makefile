# souk: thin entry points. The real work lives in scripts/ so that it can be
# run and debugged without make; see `make help`.

RELEASE_DIR := build/release
ASAN_DIR    := build/asan
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

# CI (CI=true) turns warnings into errors; local builds stay forgiving.
WERROR := $(if $(CI),-DSOUK_WERROR=ON,)

# Sources clang-format owns (the directories that do not exist yet are skipped).
FMT_DIRS  := $(wildcard libs services tools fuzz bench)
FMT_FILES  = $(if $(FMT_DIRS),$(shell find $(FMT_DIRS) -type f \( -name '*.c' -o -name '*.h' \)),)

.DEFAULT_GOAL := help
.PHONY: help deps build build-asan web run up down test test-tsan compose-test bench soak fuzz fmt fmt-check clean

help:
	@echo "souk targets:"
	@echo "  make deps        install missing Debian packages (scripts/deps)"
	@echo "  make build       build the release tree ($(RELEASE_DIR))"
	@echo "  make build-asan  build the ASan/UBSan tree ($(ASAN_DIR))"
	@echo "  make web         build the front end into web/dist (scripts/web-build)"
	@echo "  make run         deps + build, start the stack in the foreground; Ctrl-C stops it"
	@echo "                   (OBS=1: also Prometheus and Alertmanager, scripts/obs)"
	@echo "  make up          deps + build, start the stack in the background"
	@echo "  make down        stop the background stack"
	@echo "  make test        deps, then unit + e2e tests on a fresh stack (scripts/test)"
	@echo "  make test-tsan   the same under ThreadSanitizer (build/tsan)"
	@echo "  make compose-test  images + the Compose stack under podman (root), e2e through its gateway, teardown"
	@echo "  make bench       deps + build, run the load benchmarks (bench/run)"
	@echo "  make soak        deps + build, a mixed load at half the peak for SOAK_SECONDS (600) and its checks"
	@echo "  make fuzz        build the libFuzzer targets (build/fuzz, clang), fuzz each FUZZ_SECONDS (30)"
	@echo "  make fmt         clang-format -i all C sources"
	@echo "  make fmt-check   fail if any C source is not clang-formatted"
	@echo "  make clean       stop the stack, remove build/ and .run/"

deps:
	scripts/deps

# Configuring every time is cheap (cmake only regenerates when something
# changed) and keeps the -Werror setting in step with CI.
build:
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(WERROR)
	cmake --build $(RELEASE_DIR) -j$(JOBS)

build-asan:
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DSOUK_SANITIZE=ON $(WERROR)
	cmake --build $(ASAN_DIR) -j$(JOBS)

web:
	scripts/web-build

# A newcomer's stack shows a small demo catalog (loaded into an empty one).
# OBS=1 adds Prometheus and Alertmanager (scripts/obs; state under .run/obs).
run: deps build web
	PRODUCT_SEED_DEMO=$${PRODUCT_SEED_DEMO:-true} scripts/$(if $(OBS),obs,stack) run

up: deps build web
	PRODUCT_SEED_DEMO=$${PRODUCT_SEED_DEMO:-true} scripts/stack up
	$(if $(OBS),scripts/obs up)

down:
	scripts/obs down
	scripts/stack down

test: deps
	scripts/test

test-tsan: deps
	SOUK_TSAN=1 scripts/test

compose-test: deps
	scripts/deps-compose
	scripts/compose-test

bench: deps build
	bench/run

# A mixed load at half the measured peak for SOAK_SECONDS (default 600) on a
# stack of its own, then its checks (see tests/soak/soak.py).
soak: deps build
	scripts/soak

# libFuzzer targets (fuzz/) in their own clang tree. Each runs FUZZ_SECONDS on
# a scratch copy of its corpus under build/fuzz/work/<name>: the committed
# corpora only change by hand. Crash inputs land in build/fuzz/work/<name>/crashes.
fuzz:
	CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" \
	    -DSOUK_FUZZ=ON -DSOUK_SANITIZE=ON
	cmake --build build/fuzz --target souk_fuzz -j$(JOBS)
	@failed=; for src in fuzz/fuzz_*.c; do \
	    t=$${src#fuzz/fuzz_}; t=$${t%.c}; w=build/fuzz/work/$$t; \
	    mkdir -p $$w/corpus $$w/crashes && cp fuzz/corpus/$$t/* $$w/corpus/ || exit 1; \
	    dict=; if [ -f fuzz/dict/$$t.dict ]; then dict=-dict=fuzz/dict/$$t.dict; fi; \
	    printf '==== fuzz_%s: %ss\n' $$t $(or $(FUZZ_SECONDS),30); \
	    if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 build/fuzz/bin/fuzz_$$t $$w/corpus $$dict \
	        -max_total_time=$(or $(FUZZ_SECONDS),30) -max_len=8192 -timeout=10 -print_final_stats=1 \
	        -artifact_prefix=$$w/crashes/ >$$w/fuzz.log 2>&1; then \
	        grep -E '^Done [0-9]+ runs' $$w/fuzz.log; \
	    else \
	        tail -n 60 $$w/fuzz.log; failed="$$failed fuzz_$$t"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed (inputs in build/fuzz/work/*/crashes)"; exit 1; fi; \
	echo "fuzz: no crashes"

fmt:
	$(if $(FMT_FILES),clang-format -i $(FMT_FILES),@echo "no C sources")

fmt-check:
	$(if $(FMT_FILES),clang-format --dry-run --Werror $(FMT_FILES),@echo "no C sources")

# Servers first: their pid files and the PostgreSQL clusters live under .run/
# (the test stack's inside it, so that one goes first).
clean:
	-[ ! -d .run/podman ] || scripts/compose-test clean
	-SOUK_RUN_DIR=$(CURDIR)/.run/test scripts/obs down
	-SOUK_RUN_DIR=$(CURDIR)/.run/test scripts/stack wipe
	-SOUK_RUN_DIR=$(CURDIR)/.run scripts/obs down
	-SOUK_RUN_DIR=$(CURDIR)/.run scripts/stack down
	-SOUK_RUN_DIR=$(CURDIR)/.run scripts/stack wipe
	rm -rf build .run
