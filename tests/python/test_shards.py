# `lowbit quantize --shards N`: a GGUF split set in llama.cpp's gguf-split convention, checked
# with a GGUF parser written from the specification (reference.read_gguf): the set holds the
# single file's tensors byte for byte, in order, the model's metadata in the first file and the
# split keys (split.no u16 from 0, split.count u16, split.tensors.count i32) in every one; the
# engine and the quantizer read the set from its first file; broken sets are errors naming the
# file.
import json
import pathlib
import shutil
import subprocess

import pytest

import lowbit
from conftest import TINY_LLAMA
from reference import read_gguf

U16, I32 = 2, 5


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("shards")
    one = lowbit.quantize_model(TINY_LLAMA, d / "one.gguf", type="Q4_0")
    split = lowbit.quantize_model(TINY_LLAMA, d / "split.gguf", type="Q4_0", shards=3)
    return d, one, split


def test_the_set_holds_the_single_files_tensors_and_metadata(outputs):
    d, one, split = outputs
    names = [d / f"split-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert sorted(p.name for p in d.glob("split*")) == [p.name for p in names]
    assert split["output"] == str(names[0]) and split["output_files"] == 3
    assert split["totals"]["output_bytes"] == sum(p.stat().st_size for p in names)
    md_one, tensors_one = read_gguf(d / "one.gguf")
    parts = [read_gguf(p) for p in names]
    joined = [t for _, tensors in parts for t in tensors]
    assert joined == tensors_one  # names, shapes, types and bytes, in order
    assert all(len(tensors) > 0 for _, tensors in parts)
    for no, (md, _) in enumerate(parts):
        assert md["split.no"] == (U16, no)
        assert md["split.count"] == (U16, 3)
        assert md["split.tensors.count"] == (I32, len(tensors_one))
        rest = {k: v for k, v in md.items() if not k.startswith("split.")}
        assert rest == (md_one if no == 0 else {})
    # about equal bytes: no file holds more than twice its share of the tensor bytes
    sizes = [sum(len(t[3]) for t in tensors) for _, tensors in parts]
    assert max(sizes) <= 2 * sum(sizes) / 3


def test_the_engine_scores_the_set_as_the_single_file(outputs, cli, tmp_path):
    d, _, _ = outputs
    text = tmp_path / "t.txt"
    text.write_text((TINY_LLAMA.parent / "heldout.txt").read_text()[:6000])

    def score(model):
        out = subprocess.run([cli, "score", "-m", model, "-f", text, "-w", "128", "--json"], check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)["perplexity"]

    assert score(d / "split-00001-of-00003.gguf") == score(d / "one.gguf")
    info = json.loads(subprocess.run([cli, "inspect", "--json", d / "split-00001-of-00003.gguf"], check=True,
                                     capture_output=True, text=True).stdout)
    assert [pathlib.Path(f).name for f in info["files"]] == [f"split-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert info["totals"]["tensors"] == 38


def test_the_quantizer_reads_the_set(outputs, tmp_path):
    d, _, _ = outputs
    lowbit.quantize_model(d / "one.gguf", tmp_path / "a.gguf", type="Q8_0", keep=[".*"])
    lowbit.quantize_model(d / "split-00001-of-00003.gguf", tmp_path / "b.gguf", type="Q8_0", keep=[".*"])
    assert (tmp_path / "a.gguf").read_bytes() == (tmp_path / "b.gguf").read_bytes()  # split keys not carried over


def test_broken_sets_are_errors_naming_the_file(outputs, cli, tmp_path):
    d, _, _ = outputs
    for i in (1, 2, 3):
        shutil.copy(d / f"split-0000{i}-of-00003.gguf", tmp_path)
    second = subprocess.run([cli, "inspect", tmp_path / "split-00002-of-00003.gguf"], capture_output=True, text=True)
    assert second.returncode != 0 and "open the first, " in second.stderr and "split-00001-of-00003.gguf" in second.stderr
    renamed = tmp_path / "renamed.gguf"
    shutil.copy(tmp_path / "split-00001-of-00003.gguf", renamed)
    r = subprocess.run([cli, "inspect", renamed], capture_output=True, text=True)
    assert r.returncode != 0 and "must be named PREFIX-00001-of-00003.gguf" in r.stderr
    (tmp_path / "split-00003-of-00003.gguf").unlink()
    r = subprocess.run([cli, "inspect", tmp_path / "split-00001-of-00003.gguf"], capture_output=True, text=True)
    assert r.returncode != 0 and "file 3 (" in r.stderr and "is missing" in r.stderr
    shutil.copy(tmp_path / "split-00002-of-00003.gguf", tmp_path / "split-00003-of-00003.gguf")
    r = subprocess.run([cli, "inspect", tmp_path / "split-00001-of-00003.gguf"], capture_output=True, text=True)
    assert r.returncode != 0 and "split.no is 1, expected 2" in r.stderr


def test_bad_shard_counts_write_nothing(tmp_path):
    with pytest.raises(lowbit.Error, match="only 38 tensors"):
        lowbit.quantize_model(TINY_LLAMA, tmp_path / "x.gguf", type="Q4_0", shards=39)
    with pytest.raises(lowbit.Error, match="shards"):
        lowbit.quantize_model(TINY_LLAMA, tmp_path / "x.safetensors", type="Q4_0", shards=2)
    with pytest.raises(lowbit.Error, match="shards"):
        lowbit.quantize_model(TINY_LLAMA, tmp_path / "x.gguf", type="Q4_0", shards=0)
    assert list(tmp_path.iterdir()) == []
