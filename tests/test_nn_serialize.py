"""Saving and loading models: round trips, atomic writes, damaged and foreign files, strict JSON."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

import nn
from chainrule import outputs
from nn import serialize


def _files(folder) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("model", [
    nn.MLP(2, [4, 3], activation="leaky_relu", output_activation="sigmoid",
           negative_slope=0.2, seed=1),
    nn.MLP(3, [2, 1], activation="tanh", fused=False, seed=2),
    nn.Layer(2, 3, "gelu", seed=3),
    nn.Neuron(4, "sigmoid", seed=4),
])
def test_round_trip_keeps_architecture_weights_and_outputs(tmp_path, model):
    path = tmp_path / "model.json"
    model.save(path)
    loaded = nn.load(path)
    assert type(loaded) is type(model)
    assert loaded.config() == model.config()
    assert loaded.state_dict() == model.state_dict()
    x = [0.5, -1.0, 2.0, 0.25][: model.config()["nin"]]
    a, b = model(x), loaded(x)
    if isinstance(a, list):
        assert [v.data for v in a] == [v.data for v in b]
    else:
        assert a.data == b.data
    assert _files(tmp_path) == ["model.json"]  # no temporary file left


def test_file_format(tmp_path):
    m = nn.MLP(2, [2, 1], seed=0)
    path = tmp_path / "m.json"
    nn.save(m, path, meta={"epoch": 3})
    doc = json.loads(path.read_text())
    assert doc["format"] == "chainrule.nn" and doc["version"] == 1
    assert doc["architecture"]["type"] == "MLP" and doc["architecture"]["nouts"] == [2, 1]
    assert doc["weights"] == m.state_dict()
    assert nn.load_meta(path) == {"epoch": 3}


def test_truncated_file_is_rejected(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(nn.ModelFileError, match=r"not valid JSON.*truncated"):
        nn.load(path)


def test_changed_weight_fails_the_checksum(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    doc = json.loads(path.read_text())
    doc["weights"]["layers.0.neurons.0.w.0"] += 1.0
    path.write_text(json.dumps(doc))
    with pytest.raises(nn.ModelFileError, match="checksum"):
        nn.load(path)


def test_foreign_and_unknown_files_are_rejected(tmp_path):
    cases = {
        "list.json": "[1, 2, 3]",
        "other.json": json.dumps({"format": "keras", "weights": {}}),
        "binary.json": "\x00\xff",
    }
    for name, text in cases.items():
        p = tmp_path / name
        p.write_bytes(text.encode("latin-1"))
        with pytest.raises(nn.ModelFileError, match="not a chainrule model file"):
            nn.load(p)
    with pytest.raises(nn.ModelFileError, match="cannot read"):
        nn.load(tmp_path / "missing.json")
    path = tmp_path / "v2.json"
    nn.MLP(2, [1], seed=0).save(path)
    doc = json.loads(path.read_text())
    doc["version"] = 2
    path.write_text(json.dumps(doc))
    with pytest.raises(nn.ModelFileError, match="version 2"):
        nn.load(path)


def _resigned(doc: dict) -> dict:
    doc["checksum"] = serialize._checksum(doc["architecture"], doc["weights"], doc["meta"])
    return doc


def test_consistent_but_mismatched_weights_never_half_load(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    doc = json.loads(path.read_text())
    del doc["weights"]["layers.1.neurons.0.b"]
    path.write_text(json.dumps(_resigned(doc)))
    with pytest.raises(nn.ModelFileError, match=r"do not fit.*layers\.1\.neurons\.0\.b"):
        nn.load(path)
    doc = json.loads(path.read_text())
    doc["weights"]["layers.1.neurons.0.b"] = "zero"
    doc["architecture"]["type"] = "MLP"
    path.write_text(json.dumps(_resigned(doc)))
    with pytest.raises(nn.ModelFileError, match="do not fit"):
        nn.load(path)
    doc["architecture"] = {"type": "Transformer"}
    path.write_text(json.dumps(_resigned(doc)))
    with pytest.raises(nn.ModelFileError, match="unknown architecture type 'Transformer'"):
        nn.load(path)
    doc["architecture"] = {"type": "MLP", "nin": 2, "nouts": [3, 1], "activation": "swish"}
    path.write_text(json.dumps(_resigned(doc)))
    with pytest.raises(nn.ModelFileError, match="invalid"):
        nn.load(path)


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    old = nn.MLP(2, [1], seed=0)
    old.save(path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs.os, "replace", broken_replace)
    with pytest.raises(OSError, match=f"save {str(path)!r}: .*No space.*old file is unchanged"):
        nn.MLP(2, [1], seed=5).save(path)
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["m.json"]


def test_save_errors(tmp_path):
    class Custom(nn.Module):
        pass

    with pytest.raises(TypeError, match="no config"):
        nn.save(Custom(), tmp_path / "c.json")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        nn.save(nn.MLP(1, [1], seed=0), tmp_path / "c.json", meta={"f": object()})
    assert _files(tmp_path) == []
    nn.MLP(1, [1], seed=0).save(tmp_path / "new" / "folders" / "m.json")  # created, as mkdir -p
    assert nn.load(tmp_path / "new" / "folders" / "m.json").nin == 1


def test_saved_files_are_strict_json_and_nan_weights_are_not_saved(tmp_path: Path) -> None:
    m = nn.MLP(2, [4, 1], seed=0)
    m.parameters()[0].data = math.nan
    with pytest.raises(ValueError, match="finite weights only"):
        m.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
    with pytest.raises(TypeError, match="finite numbers"):
        nn.save(nn.MLP(2, [4, 1], seed=0), tmp_path / "m.json", meta={"x": math.inf})
    nn.MLP(2, [4, 1], seed=0).save(tmp_path / "ok.json")
    assert "NaN" not in (tmp_path / "ok.json").read_text()
