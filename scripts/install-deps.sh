#!/usr/bin/env bash
# Installs every Debian package lowbit needs to build, test and benchmark.
# Idempotent: apt-get runs only when a package is missing, and `apt-get update` only then.
set -euo pipefail

packages=(
  # toolchains and build
  cmake ninja-build g++ clang-14 libclang-rt-14-dev pkg-config git
  # libraries
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libfmt-dev libpcre2-dev
  libssl-dev  # sha256 of model headers in run receipts (OpenSSL's libcrypto)
  libcpp-httplib-dev  # `lowbit serve`
  # the server's tests: a real browser for the chat page, and a load generator
  chromium chromium-driver python3-selenium wrk
  # NEON kernels: cross-compiled for AArch64 and run under qemu-user (also used to run the
  # x86 scalar fallback on an emulated CPU without AVX)
  g++-aarch64-linux-gnu qemu-user
  # bench/report.py and bench/numpy_quantize.py (Debian's python3, /usr/bin/python3); the
  # LLM trainers (tools/train_tiny_bitnet.py, train_tiny_llama.py) also need fortunes, left out
  # here: nothing in make test or make demo trains them
  python3 python3-matplotlib python3-numpy
  # calibration (lowbit.calibrate, lowbit.torch) and its tests, the tiny DDPM and the digit
  # classifier (tools/train_tiny_ddpm.py, the digits of load_digits ship with scikit-learn)
  python3-torch python3-sklearn python3-scipy
  libopenblas0-pthread  # else torch links the reference BLAS: its linear layers run 10-50x slower
  # the LLM side of the calibration evaluation runs tools/train_tiny_llama.py's PyTorch model
  python3-regex
  # the Python package (python/) and its pytest suite
  pybind11-dev python3-pybind11 python3-pytest python3-dev python3-pip
)

# The tokenizer tests' oracle is an npm package (scripts/install-test-oracle.sh), run with
# Node.js. A machine that already has node and npm (say from NodeSource, whose nodejs package
# includes npm and conflicts with Debian's) keeps them; otherwise Debian's are installed.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
