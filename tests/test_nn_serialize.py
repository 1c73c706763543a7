"""nn.save and nn.load (nn.serialize): round trips, atomic writes, strict JSON, and hostile or
damaged files.

nn.load on a hostile or damaged file always raises ModelFileError, never half-loads, and
does bounded work: deep nesting, huge integers, nan/inf tokens, numbers that overflow,
wrong types anywhere in the document (a property over every position), architectures too
large or not matching the weights (refused before anything is built), files over the size
limit. The writing side: strict JSON, permissions kept, recognisable temporary files.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from chainrule import outputs
from nn import serialize
from nn.serialize import _checksum

few = settings(max_examples=min(settings().max_examples, 100))


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


def _resign(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with a checksum that holds again (nn.serialize's own, private, checksum)."""
    doc["checksum"] = _checksum(doc.get("architecture"), doc.get("weights"), doc.get("meta"))
    return doc


def test_consistent_but_mismatched_weights_never_half_load(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    doc = json.loads(path.read_text())
    del doc["weights"]["layers.1.neurons.0.b"]
    path.write_text(json.dumps(_resign(doc)))
    with pytest.raises(nn.ModelFileError, match=r"do not fit.*layers\.1\.neurons\.0\.b"):
        nn.load(path)
    doc = json.loads(path.read_text())
    doc["weights"]["layers.1.neurons.0.b"] = "zero"
    doc["architecture"]["type"] = "MLP"
    path.write_text(json.dumps(_resign(doc)))
    with pytest.raises(nn.ModelFileError, match="do not fit"):
        nn.load(path)
    doc["architecture"] = {"type": "Transformer"}
    path.write_text(json.dumps(_resign(doc)))
    with pytest.raises(nn.ModelFileError, match="unknown architecture type 'Transformer'"):
        nn.load(path)
    doc["architecture"] = {"type": "MLP", "nin": 2, "nouts": [3, 1], "activation": "swish"}
    path.write_text(json.dumps(_resign(doc)))
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


# ---------------------------------------------------------------------------
# hostile and damaged files


def _doc() -> dict[str, Any]:
    model = nn.MLP(2, [3, 1], seed=0)
    arch, weights, meta = model.config(), model.state_dict(), {"epoch": 1}
    return {"format": serialize.FORMAT, "version": serialize.VERSION, "architecture": arch,
            "weights": weights, "meta": meta, "checksum": _checksum(arch, weights, meta)}


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nests deeper than a model file"),
        ('{"a":' * 50_000 + "1" + "}" * 50_000, "nest"),
        ('{"format": "chainrule.nn", "version": ' + "9" * 10_000 + "}", "not valid JSON"),
        ('{"format": "chainrule.nn", "version": 1, "x": NaN}', "NaN is not allowed"),
        ('{"format": "chainrule.nn", "version": 1, "x": -Infinity}', "not allowed"),
        ('{"format": "chainrule.nn", "version": 1, "x": 1e999}', "overflows a float"),
        ("\xff\xfe not utf-8", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_json_the_parser_chokes_on_is_a_model_file_error(tmp_path: Path, text: str,
                                                         message: str) -> None:
    raw = text.encode("latin-1") if text.startswith("\xff") else text.encode()
    with pytest.raises(nn.ModelFileError, match=message):
        nn.load(_write(tmp_path / "m.json", raw))


def _positions(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _positions(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _positions(v, (*path, i))
    return out


POSITIONS = [p for p in _positions(_doc()) if p and p[0] != "checksum"]
WRONG = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                  st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5),
                  st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3),
                                                                       st.integers(), max_size=2))


@few
@given(where=st.sampled_from(POSITIONS), value=WRONG)
def test_any_entry_replaced_by_any_json_value_loads_or_raises_model_file_error(
        tmp_path_factory: pytest.TempPathFactory, where: tuple[Any, ...], value: Any) -> None:
    doc = _doc()
    node = doc
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    path = tmp_path_factory.mktemp("f") / "m.json"
    path.write_text(json.dumps(_resign(doc)))
    try:
        model = nn.load(path)
    except nn.ModelFileError:
        return
    # when it loads, it is exactly what the file says, its numbers read as the nearest
    # floats (as JSON's are: an integer past 2**53, such as 9007199254740993, is rounded)
    arch = dict(doc["architecture"])
    if _is_number(arch.get("negative_slope")):
        arch["negative_slope"] = float(arch["negative_slope"])
    assert model.state_dict() == {k: float(v) for k, v in doc["weights"].items()}
    assert model.config() == {**model.config(), **arch}
    assert all(type(v) is float for v in model.state_dict().values())


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def test_a_float_entry_given_as_an_integer_past_2_53_loads_as_the_nearest_float(
        tmp_path: Path) -> None:
    doc = _doc()
    doc["architecture"]["negative_slope"] = 9007199254740993  # 2**53 + 1
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_resign(doc)))
    assert nn.load(path).config()["negative_slope"] == 9007199254740992.0


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ({"type": "MLP", "nin": 10**6, "nouts": [10**6, 1]}, "1000000"),
        ({"type": "MLP", "nin": 2, "nouts": [3] * 100_000}, "list of 1..1000 layer widths"),
        ({"type": "MLP", "nin": 2, "nouts": [10**100]}, r"nouts\[0\] must be an integer"),
        ({"type": "MLP", "nin": -3, "nouts": [1]}, "nin must be an integer"),
        ({"type": "Layer", "nin": 5000, "nout": 5000}, "more than the limit"),
        ({"type": "Neuron", "nin": 1.5}, "nin must be an integer"),
        ({"type": "MLP", "nin": 2, "nouts": [500, 1]}, "the weights do not fit"),
    ],
)
def test_impossible_architectures_are_refused_before_building(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              arch: dict[str, Any],
                                                              message: str) -> None:
    def no_build(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("built a model from an impossible architecture")

    monkeypatch.setattr(serialize, "_build", no_build)
    doc = _doc()
    doc["architecture"] = arch
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_resign(doc)))
    with pytest.raises(nn.ModelFileError, match=message):
        nn.load(path)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 10**400, True, [1.0], None])
def test_weights_that_are_not_finite_numbers(tmp_path: Path, bad: Any) -> None:
    doc = _doc()
    key = next(iter(doc["weights"]))
    doc["weights"][key] = bad
    text = json.dumps(_resign(doc))  # signed: the checksum holds, the weight does not
    with pytest.raises(nn.ModelFileError, match=r"weight|not allowed|overflows"):
        nn.load(_write(tmp_path / "m.json", text))


def test_files_over_the_size_limit_are_refused_unread(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    monkeypatch.setattr(serialize, "MAX_FILE_BYTES", 100)
    with pytest.raises(nn.ModelFileError, match="more than the limit of 100"):
        nn.load(path)
    with pytest.raises(nn.ModelFileError, match="more than the limit"):
        nn.load_meta(path)


def test_the_docs_say_the_checksum_is_no_signature() -> None:
    assert serialize.__doc__ is not None
    assert "not a signature" in serialize.__doc__
    page = (Path(__file__).parents[1] / "docs" / "nn.md").read_text(encoding="utf-8")
    assert "checksum" in page and "not a signature" in page


# ---------------------------------------------------------------------------
# writing


def test_saving_keeps_an_existing_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    new_mode = stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert new_mode == 0o666 & ~umask  # as other tools make new files
    os.chmod(path, 0o640)
    nn.MLP(2, [3, 1], seed=1).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert nn.load(path).state_dict() == nn.MLP(2, [3, 1], seed=1).state_dict()


def test_a_failed_save_leaves_no_temporary_file_and_temporaries_are_recognisable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    seen: list[str] = []
    real_replace = os.replace

    def failing_replace(src: str, dst: Any) -> None:
        seen.append(os.path.basename(src))
        raise KeyboardInterrupt  # Ctrl-C at the worst moment

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(KeyboardInterrupt):
        nn.MLP(2, [3, 1], seed=5).save(path)
    monkeypatch.setattr(os, "replace", real_replace)
    assert seen and seen[0].startswith(".m.json.") and seen[0].endswith(".tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]
    assert nn.load(path).state_dict() == nn.MLP(2, [3, 1], seed=0).state_dict()


@few
@given(data=st.data())
def test_truncated_or_flipped_bytes_never_load_silently(
        tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("b") / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    raw = bytearray(path.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1), label="cut")]
    else:
        i = data.draw(st.integers(0, len(raw) - 1), label="at")
        raw[i] ^= data.draw(st.integers(1, 255), label="xor")
    path.write_bytes(bytes(raw))
    try:
        model = nn.load(path)
    except nn.ModelFileError:
        return
    # a flip that leaves the same document (e.g. in white space) loads the same model
    assert model.state_dict() == nn.MLP(2, [3, 1], seed=0).state_dict()


# load_state_dict refuses every malformed state with ModelFileError (the old
# TypeError/KeyError types still match), and changes nothing when it refuses.

@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 10**400])
def test_load_state_dict_refuses_non_finite_and_overflowing_weights(bad: object) -> None:
    m = nn.MLP(2, [2, 1], seed=0)
    before = m.state_dict()
    state = dict(before, **{"layers.0.neurons.1.w.0": bad})
    with pytest.raises(nn.ModelFileError, match=r"layers\.0\.neurons\.1\.w\.0.*not a finite"):
        m.load_state_dict(state)
    assert m.state_dict() == before


def test_load_state_dict_errors_are_model_file_errors_of_the_old_types() -> None:
    m = nn.MLP(2, [2, 1], seed=0)
    before = m.state_dict()
    with pytest.raises(nn.ModelFileError) as info:
        m.load_state_dict([1.0])  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    with pytest.raises(nn.ModelFileError) as info:
        m.load_state_dict({"x": 1.0})
    assert isinstance(info.value, KeyError) and "unexpected keys" in str(info.value)
    with pytest.raises(nn.ModelFileError) as info:
        m.load_state_dict(dict(before, **{"layers.1.neurons.0.b": "1.0"}))
    assert isinstance(info.value, TypeError)
    assert m.state_dict() == before
