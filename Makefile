# SPDX-License-Identifier: MIT
# Thin wrapper over the CMake presets (CMakePresets.json).
#
#   make            build the release preset (library, tool, tests)
#   make run        build and run the main job: ipcx bench --quick
#   make test       build and run every test, plain and under ASan+UBSan
#   make stress     the long stress runs (label "stress")
#   make tsan       the ThreadSanitizer tests (label "tsan")
#   make bench      the full benchmark run
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (default 600)
#   make install    install to PREFIX (default /usr/local)
#   make format     clang-format the tree; make format-check only checks
#   make clean      remove build/
#
# Missing Debian packages are installed when run as root; otherwise the
# exact apt-get line is printed (scripts/deps.sh).

PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 600
CTEST_ARGS ?=
IPCX := build/release/tools/ipcx/ipcx

.PHONY: all build run test test-debug test-asan stress tsan bench fuzz install clean \
        format format-check deps-build deps-test deps-fuzz deps-format

all: build

deps-build:
	@sh scripts/deps.sh build
deps-test:
	@sh scripts/deps.sh test
deps-fuzz:
	@sh scripts/deps.sh fuzz
deps-format:
	@sh scripts/deps.sh format

build/%/CMakeCache.txt:
	cmake --preset $* >/dev/null

build: deps-build build/release/CMakeCache.txt
	cmake --build --preset release -j $(JOBS)

run: build
	$(IPCX) bench --quick

bench: build
	$(IPCX) bench

test: deps-test
	$(MAKE) --no-print-directory test-debug
	$(MAKE) --no-print-directory test-asan
	@echo "make test: all tests passed (debug and asan builds)"

test-debug: build/debug/CMakeCache.txt
	cmake --build --preset debug -j $(JOBS)
	ctest --preset debug -j $(JOBS) $(CTEST_ARGS)

test-asan: build/asan/CMakeCache.txt
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS) $(CTEST_ARGS)

stress: deps-test build/release/CMakeCache.txt
	cmake --build --preset release -j $(JOBS)
	ctest --preset stress $(CTEST_ARGS)

tsan: deps-test build/tsan/CMakeCache.txt
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan $(CTEST_ARGS)

fuzz: deps-fuzz build/fuzz/CMakeCache.txt
	cmake --build --preset fuzz -j $(JOBS)
	sh scripts/fuzz.sh build/fuzz $(FUZZ_SECONDS)

install: build
	cmake --install build/release --prefix $(PREFIX)

FORMAT_FILES ?= $(shell find include src tools bench tests examples -name '*.[ch]' | sort)

format: deps-format
	clang-format -i $(FORMAT_FILES)

format-check: deps-format
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build
