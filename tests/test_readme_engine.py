"""The README's engine examples (quickstart, higher order) run as written."""

from __future__ import annotations

import pathlib
import re

import pytest

from tests.readme_code import exec_block

README = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
ENGINE_PART = README[: README.index("<!-- nn:start -->")]
BLOCKS = re.findall(r"```python\n(.*?)```", ENGINE_PART, re.S)


def test_the_engine_part_has_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_example_runs(source: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec_block(source, {}, "engine block")
    assert capsys.readouterr().out.strip()  # every example prints its result
