"""nn.load on hostile and damaged files: always ModelFileError, never half-loaded, bounded work.

Deep nesting, huge integers, nan/inf tokens, numbers that overflow, wrong types
anywhere in the document (a property over every position), architectures too
large or not matching the weights (refused before anything is built), files
over the size limit. And the writing side: strict JSON, permissions kept,
recognisable temporary files.
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
from nn import serialize
from nn.serialize import _checksum

few = settings(max_examples=min(settings().max_examples, 100))


def _doc() -> dict[str, Any]:
    model = nn.MLP(2, [3, 1], seed=0)
    arch, weights, meta = model.config(), model.state_dict(), {"epoch": 1}
    return {"format": serialize.FORMAT, "version": serialize.VERSION, "architecture": arch,
            "weights": weights, "meta": meta, "checksum": _checksum(arch, weights, meta)}


def _resign(doc: dict[str, Any]) -> dict[str, Any]:
    doc["checksum"] = _checksum(doc.get("architecture"), doc.get("weights"), doc.get("meta"))
    return doc


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
    # when it loads, it is exactly what the file says
    assert model.state_dict() == {k: float(v) for k, v in doc["weights"].items()}
    assert model.config() == {**model.config(), **doc["architecture"]}


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
