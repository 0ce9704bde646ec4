# Ctrl-C (SIGINT) stops a long call: the child process gets KeyboardInterrupt within a second or
# two, leaving nothing behind.
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import TINY_LLAMA

CHILD = {
    "quantize": """
        import numpy as np, lowbit
        w = np.random.default_rng(0).standard_normal((8192, 8192)).astype(np.float32)
        print("ready", flush=True)
        while True:
            lowbit.quantize(w, "int4")
    """,
    "quantize_model": f"""
        import os, lowbit
        print("ready", flush=True)
        while True:
            lowbit.quantize_model({str(TINY_LLAMA)!r}, os.path.join(os.environ["OUT"], "out.gguf"), type="Q6_K",
                                  threads=1)
    """,
}


@pytest.mark.parametrize("work", sorted(CHILD))
def test_ctrl_c_interrupts_a_long_call(tmp_path, work):
    env = dict(os.environ, OUT=str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD[work])], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)
        start = time.monotonic()
        _, err = child.communicate(timeout=30)
        waited = time.monotonic() - start
    finally:
        child.kill()
    assert child.returncode != 0
    assert "KeyboardInterrupt" in err, err
    assert waited < 5, f"took {waited:.1f} s to stop"
    leftovers = [n for n in os.listdir(tmp_path) if n != "out.gguf"]
    assert leftovers == []
