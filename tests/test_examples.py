"""The examples run and show what they claim."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vanishing_gradients_shows_sigmoid_starving_the_first_layer(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = _load("vanishing_gradients")
    flows = ex.run(epochs=2, depth=5)
    sig, relu = flows["sigmoid"], flows["relu"]
    names = list(sig)
    first, last = names[0], names[-1]
    # sigmoid: the first layer's gradient is orders of magnitude below the last's
    assert sig[first][-1] * 100 < sig[last][-1]
    # relu: the same network keeps them within one order of magnitude
    assert relu[first][-1] * 10 > relu[last][-1]
    assert ex.main(["--epochs", "1", "--out", str(tmp_path)]) == 0
    assert "sigmoid: mean |grad|" in capsys.readouterr().out
