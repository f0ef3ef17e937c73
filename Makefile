# senim — the two commands a newcomer needs are `make run` and `make test`.
# Everything else here serves them, or the people who run senim.

RELEASE := build/release
TEST    := build/test
TSAN    := build/tsan
JOBS    ?= $(shell nproc)
LISTEN  ?= 127.0.0.1:8080
DATA    ?= var

.PHONY: all build run test unit lint format bench fuzz valgrind clean help

all: build

help:
	@echo "make run     install what is missing, build, serve on $(LISTEN) with SQLite in ./$(DATA)"
	@echo "make test    build with ASan+UBSan and run every test (SQLite and PostgreSQL)"
	@echo "make lint    check formatting against .clang-format"
	@echo "make bench   wrk benchmarks against a release build (see bench/README.md)"
	@echo "make fuzz    build and run the libFuzzer targets over fuzz/corpus"
	@echo "make valgrind  unit tests and the server (through API suites) under memcheck"
	@echo "make test-tsan unit tests and the API suite on SQLite under ThreadSanitizer (part of make test)"
	@echo "make clean   remove build/"

build:
	@scripts/install-deps run
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENIM_TESTS=OFF >/dev/null
	cmake --build $(RELEASE) -j $(JOBS)

run: build
	$(RELEASE)/senim serve --listen $(LISTEN) --data-dir $(DATA)

test:
	@scripts/install-deps test
	@$(MAKE) --no-print-directory lint
	@# The build `make run` serves, optimised: some warnings (-Werror) only
	@# show at -O2, and a newcomer's first command must build.
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENIM_TESTS=OFF >/dev/null
	cmake --build $(RELEASE) -j $(JOBS)
	cmake -S . -B $(TEST) -DCMAKE_BUILD_TYPE=Debug -DSENIM_SANITIZE=ON >/dev/null
	cmake --build $(TEST) -j $(JOBS)
	ctest --test-dir $(TEST) --output-on-failure
	scripts/fuzz-gate
	@$(MAKE) --no-print-directory test-tsan

# ThreadSanitizer cannot share a build with ASan, so it has its own.  The API
# suite runs on SQLite only, to keep `make test` short (the PostgreSQL
# backend's connection handling is not run under TSan).  Any report fails
# the run: tests/CMakeLists.txt sets TSAN_OPTIONS, conftest.py reads the
# server's stderr.
.PHONY: test-tsan
test-tsan:
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=Debug -DSENIM_SANITIZE=thread >/dev/null
	cmake --build $(TSAN) -j $(JOBS)
	ctest --test-dir $(TSAN) --output-on-failure -R '^(unit\.|api\.sqlite$$)'

lint:
	@scripts/lint

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard "*.c" "*.h")

bench:
	@scripts/install-deps bench
	bench/run

fuzz:
	@scripts/install-deps fuzz
	CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENIM_FUZZ=ON -DSENIM_TESTS=OFF >/dev/null
	cmake --build build/fuzz -j $(JOBS)
	fuzz/run build/fuzz

valgrind:
	@scripts/install-deps test
	scripts/valgrind

clean:
	rm -rf build
