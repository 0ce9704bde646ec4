# Entry points. Each target installs missing Debian packages and builds first, so that on a
# fresh clone of a fresh machine `make test` alone is enough.
.PHONY: all deps build build-asan test test-release test-asan test-fuzz fuzz demo bench clean

LOWBIT := build/release/bin/lowbit

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan

# The whole suite twice: Release with g++, then ASan+UBSan with clang++ (both -Werror);
# then each libFuzzer target (model-file parsers) for 60 s, failing on any finding.
test: test-release test-asan test-fuzz

test-release: build
	@ctest --preset release

test-asan: build-asan
	@ctest --preset asan

test-fuzz: deps
	@scripts/run-fuzz.sh 60

# A longer fuzzing session: 10 minutes per target (the corpus in build/fuzz/corpus/ grows).
fuzz: deps
	@scripts/run-fuzz.sh 600

demo: build
	@$(LOWBIT) formats
	@echo
	@$(LOWBIT) roundtrip --type all --rows 256 --cols 4096

bench: build
	@$(LOWBIT) roundtrip --type all --rows 1024 --cols 4096

clean:
	rm -rf build
