# Shared fixtures: the repository's bundled models and the lowbit CLI the results are compared
# with. ctest sets LOWBIT_CLI and PYTHONPATH (build/<preset>/python); run by hand:
#   PYTHONPATH=build/release/python LOWBIT_CLI=build/release/bin/lowbit /usr/bin/python3 -m pytest tests/python
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY_BITNET = ROOT / "models" / "tiny-bitnet" / "tiny-bitnet.gguf"
TINY_LLAMA = ROOT / "models" / "tiny-llama" / "tiny-llama-f16.gguf"


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("LOWBIT_CLI", str(ROOT / "build" / "release" / "bin" / "lowbit"))
    if not os.path.exists(path):
        pytest.fail(f"the lowbit CLI is not at {path} (set LOWBIT_CLI)")
    return path


@pytest.fixture(scope="session")
def bitnet_model():
    import lowbit

    with lowbit.Model(TINY_BITNET, threads=2) as model:
        yield model
