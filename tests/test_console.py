"""The ``chainrule`` entry point: Ctrl-C while it loads, a cheap ``import visualize``, --version."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from visualize.app import console
from visualize.app.cli import main

ROOT = Path(__file__).resolve().parent.parent


class _InterruptImport:
    """A meta-path finder that raises KeyboardInterrupt for one module, as a Ctrl-C would."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == self.name:
            raise KeyboardInterrupt
        return None


@pytest.fixture
def cli_not_loaded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delitem(sys.modules, "visualize.app.cli", raising=False)
    finder = _InterruptImport("visualize.app.cli")
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def test_ctrl_c_while_the_program_loads_is_one_line_and_status_130(
        cli_not_loaded: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert console.main() == 130
    err = capsys.readouterr().err
    assert err == "chainrule: interrupted (Ctrl-C) while starting; nothing was done\n"


def test_the_program_runs_the_command_line(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["chainrule", "check", "x*x", "--at", "x=3"])
    assert console.main() == 0
    assert capsys.readouterr().out.startswith("gradcheck of x*x (f = 9): passed")


def test_import_visualize_loads_neither_the_engine_nor_nn() -> None:
    # what runs before the entry point's handler is only the interpreter's start
    code = ("import sys, visualize, visualize.app.console; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('autograd', 'nn', 'graphviz', 'matplotlib') or m.startswith('visualize.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "['visualize.app', 'visualize.app.console']"


def test_public_names_load_on_first_use() -> None:
    import visualize

    assert set(visualize.__all__) <= set(dir(visualize))
    for name in visualize.__all__:
        assert getattr(visualize, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        visualize.nope


def test_a_submodule_import_does_not_hide_the_function_of_its_name() -> None:
    code = ("import visualize.steps, visualize.explain, visualize; "
            "import sys; f = visualize.explain; "
            "print(callable(f) and not isinstance(f, type(sys)), "
            "type(sys.modules['visualize.explain']).__name__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["True", "module"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import chainrule

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"chainrule {chainrule.__version__}"
    assert chainrule.__version__[0].isdigit()
