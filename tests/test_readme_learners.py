"""The README's "Coming from micrograd" and "Seeing backpropagation" examples run as written."""

from __future__ import annotations

import os
import pathlib
import re

import pytest

from tests.readme_code import exec_block
from visualize.graph import find_dot

README = (pathlib.Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _blocks(heading: str) -> list[str]:
    start = README.index(f"## {heading}")
    end = README.index("\n## ", start + 3)
    return re.findall(r"```python\n(.*?)```", README[start:end], re.S)


def test_sections_have_examples() -> None:
    assert len(_blocks("Coming from micrograd")) == 1
    assert len(_blocks("Seeing backpropagation")) == 1


@pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("heading", ["Coming from micrograd", "Seeing backpropagation"])
def test_examples_run(heading: str, tmp_path: pathlib.Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for source in _blocks(heading):
            exec_block(source, {}, "learners block")
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    if heading == "Coming from micrograd":
        # micrograd's Neuron(2) after random.seed(1337), on x = (1, -2)
        assert out.startswith("Value(data=0.10")
    else:
        assert "the sum over 1 path" in out
        assert (tmp_path / "paths.svg").exists()
        assert (tmp_path / "backward" / "backward.html").exists()
