# lowbit.quantize_model and lowbit.inspect against the CLI: the same files, the same report.
import json
import os
import subprocess

import pytest

import lowbit
from conftest import TINY_BITNET, TINY_LLAMA


def run_cli(cli, *args):
    return subprocess.run([cli, *map(str, args)], check=True, capture_output=True, text=True)


@pytest.mark.parametrize("kwargs,flags,suffix", [
    ({}, [], ".gguf"),
    ({"type": "Q4_0", "tensor_types": ["output=Q8_0"]}, ["--type", "Q4_0", "--tensor-type", "output=Q8_0"], ".gguf"),
    ({"bits": 2, "group_size": 64, "asym": True, "min_cosine": 0.9},
     ["--bits", "2", "--group-size", "64", "--asym", "--min-cosine", "0.9"], ".safetensors"),
])
def test_files_equal_the_cli_output(tmp_path, cli, kwargs, flags, suffix):
    ours, theirs = tmp_path / f"py{suffix}", tmp_path / f"cli{suffix}"
    report = lowbit.quantize_model(TINY_LLAMA, ours, threads=2, **kwargs)
    run_cli(cli, "quantize", TINY_LLAMA, theirs, "--threads", "1", *flags, "--report", tmp_path / "cli.json")
    assert ours.read_bytes() == theirs.read_bytes()
    cli_report = json.loads((tmp_path / "cli.json").read_text())
    assert report["schema"] == cli_report["schema"]
    assert [(t["name"], t["type"]) for t in report["tensors"]] == [(t["name"], t["type"]) for t in cli_report["tensors"]]
    assert report["threads"] == 2


def test_progress_and_report_file(tmp_path):
    seen = []
    report = lowbit.quantize_model(TINY_BITNET, tmp_path / "out.gguf", type="Q8_0", keep=["token_embd"],
                                   report=tmp_path / "r.json", progress=lambda msg, frac: seen.append((msg, frac)))
    assert len(seen) == len(report["tensors"]) and seen[-1][1] == pytest.approx(1.0)
    assert all(0 <= f <= 1 for _, f in seen) and [f for _, f in seen] == sorted(f for _, f in seen)
    assert seen[0][0].startswith("[1/")
    assert json.loads((tmp_path / "r.json").read_text()) == report


def test_a_failing_progress_callback_stops_the_run_and_leaves_nothing(tmp_path):
    class Stop(Exception):
        pass

    def progress(message, fraction):
        if fraction > 0.3:
            raise Stop(message)

    with pytest.raises(Stop):
        lowbit.quantize_model(TINY_LLAMA, tmp_path / "out.gguf", type="Q4_0", threads=1, progress=progress)
    assert os.listdir(tmp_path) == []


def test_dry_run_writes_nothing(tmp_path):
    report = lowbit.quantize_model(TINY_BITNET, tmp_path / "x.gguf", dry_run=True)
    assert report["dry_run"] is True and os.listdir(tmp_path) == []


def test_bad_options_name_their_field(tmp_path):
    out = tmp_path / "o.gguf"
    with pytest.raises(lowbit.ArgumentError, match="max_memory") as e:
        lowbit.quantize_model(TINY_LLAMA, out, max_memory="lots")
    assert e.value.field == "max_memory" and e.value.code == "bad_argument"
    with pytest.raises(ValueError, match="tensor_types"):
        lowbit.quantize_model(TINY_LLAMA, out, tensor_types=["no-equals-sign"])
    with pytest.raises(ValueError, match="mode"):
        lowbit.quantize_model(TINY_LLAMA, out, mode="fast")
    with pytest.raises(TypeError, match="unexpected keyword argument 'bitz'"):
        lowbit.quantize_model(TINY_LLAMA, out, bitz=4)
    with pytest.raises(TypeError, match="progress"):
        lowbit.quantize_model(TINY_LLAMA, out, progress=3)
    with pytest.raises(ValueError, match="max_memory.*more than the limit"):
        lowbit.quantize_model(TINY_LLAMA, out, max_memory="1K")
    assert os.listdir(tmp_path) == []


def test_bad_files(tmp_path):
    with pytest.raises(lowbit.FileSystemError) as e:
        lowbit.quantize_model(tmp_path / "missing.gguf", tmp_path / "o.gguf")
    assert isinstance(e.value, OSError)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(TINY_LLAMA.read_bytes()[:100000])
    with pytest.raises(lowbit.ModelFileError, match="truncated.gguf"):
        lowbit.quantize_model(truncated, tmp_path / "o.gguf")
    with pytest.raises(lowbit.ModelFileError, match="truncated.gguf"):
        lowbit.inspect(truncated)
    assert sorted(os.listdir(tmp_path)) == ["truncated.gguf"]


def test_inspect_equals_the_cli_json(cli):
    ours = lowbit.inspect(TINY_BITNET)
    theirs = json.loads(run_cli(cli, "inspect", TINY_BITNET, "--json", "--tensors").stdout)
    assert lowbit.inspect(TINY_BITNET, tensors=False) == json.loads(run_cli(cli, "inspect", TINY_BITNET, "--json").stdout)
    assert ours == theirs
