# Entry points. Each target installs missing Debian packages and builds first, so that on a
# fresh clone of a fresh machine `make test` alone is enough.
.PHONY: all deps build build-asan build-neon test test-release test-asan test-neon test-fuzz fuzz demo bench loadtest clean

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

# The NEON kernels, cross-compiled for AArch64 and checked under qemu-aarch64.
build-neon: deps
	@cmake --preset neon >/dev/null
	@cmake --build --preset neon

# The whole suite: Release with g++, ASan+UBSan with clang++ (both -Werror; the ASan build
# compiles the avx2, avx512_vnni and amx kernel levels: the VNNI-less variants run the same
# code with another dot-product instruction), the NEON kernels
# under qemu-aarch64, then each libFuzzer target (model-file parsers) for 60 s, failing on any
# finding. Before each ctest run the tokenizer tests' oracle (the npm package
# llama3-tokenizer-js) is installed into the build tree if it is not there yet.
test: test-release test-asan test-neon test-fuzz

test-release: build
	@scripts/install-test-oracle.sh build/release/npm
	@ctest --preset release

test-asan: build-asan
	@scripts/install-test-oracle.sh build/asan/npm
	@ctest --preset asan

test-neon: build-neon
	@ctest --preset neon

test-fuzz: deps
	@scripts/run-fuzz.sh 60

# A longer fuzzing session: 10 minutes per target (the corpus in build/fuzz/corpus/ grows).
fuzz: deps
	@scripts/run-fuzz.sh 600

# The bundled model (models/tiny-bitnet, trained on the fortunes corpus): text, then speed.
TINY := models/tiny-bitnet/tiny-bitnet.gguf
DEMO_PROMPT := Q: What do you get when you cross
demo: build
	@printf '%s' "$(DEMO_PROMPT)"
	@$(LOWBIT) run -m $(TINY) -p "$(DEMO_PROMPT)" -n 96 --temp 0.7 --top-k 40 --repeat-penalty 1.15 --seed 11
	@echo
	@$(LOWBIT) bench generate -m $(TINY) -p 128 -n 64 -r 5

# Kernel speed per type and ISA level (each against scalar), then the bundled model end to end.
bench: build
	@$(LOWBIT) bench kernels
	@echo
	@$(LOWBIT) bench generate -m $(TINY)

# `lowbit serve` under load for 30 s (scripts/loadtest.sh: wrk, /health timed alongside, RSS).
loadtest: build
	@scripts/loadtest.sh $(LOWBIT) $(TINY) 30

clean:
	rm -rf build
