"""The README and the pages of docs/: the README stays a short learner's page, every example
runs as written and prints what the page says, and every link leads somewhere.

The op table, the checking and custom-op examples, the lessons table and the speed page have
their own tests, next to what generates them (test_ops_table, test_testing, test_cli_lesson,
test_bench_userstep).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.docs_text import DOCS, README, ROOT, exec_block, page, python_blocks
from visualize.graph import find_dot

needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")


def _run_in(folder: Path, blocks: list[str], name: str) -> dict[str, Any]:
    """Execute ``blocks`` in one namespace with ``folder`` as the working directory."""
    ns: dict[str, Any] = {}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        for i, source in enumerate(blocks):
            exec_block(source, ns, f"{name} block {i}")
    finally:
        os.chdir(cwd)
    return ns


def _run_the_pages_example(folder: Path, name: str) -> str:
    """Run the one Python example of ``docs/<name>.md`` in ``folder``; return its text."""
    (block,) = python_blocks(page(name))
    _run_in(folder, [block], name)
    return block


# ---------------------------------------------------------------------------
# the README


def test_the_readme_is_short_and_opens_with_the_two_commands() -> None:
    text = page("README")
    assert len(text.splitlines()) <= 200
    first = re.search(r"```\w*\n(.*?)```", text, re.S)
    assert first is not None
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert commands == ["bash .ci/demo", "bash .ci/test"]
    assert "HIPS autograd" in text.split("## ")[0]  # the name clash, before any section


def test_the_readme_start_here_path_names_each_step() -> None:
    start = page("README").split("## Start here", 1)[1].split("\n## ", 1)[0]
    steps = ["bash .ci/demo", "backward.html", "training.html", "bash .ci/notebook",
             "examples/lecture.ipynb", "chainrule lesson --list", "chainrule playground"]
    positions = [start.index(s) for s in steps]
    assert positions == sorted(positions)  # in the order a learner takes them


def test_the_quickstart_prints_what_it_shows_and_tanh_is_not_saturated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = python_blocks(page("README"))[0]
    ns = _run_in(tmp_path, [block], "quickstart")
    shown = [line[2:] for line in block.splitlines() if line.startswith("# ")]
    assert capsys.readouterr().out.splitlines() == shown
    # far from tanh's flat tails: its slope 1 - tanh(n)^2 is well above 0
    assert ns["n"].grad > 0.5 and ns["y"].grad == 1.0


def _svg_texts(svg: str) -> list[str]:
    return sorted(re.findall(r"<text[^>]*>([^<]*)</text>", svg))


@needs_dot
def test_the_readme_picture_is_the_quickstarts_graph(tmp_path: Path) -> None:
    blocks = python_blocks(page("README"))
    assert len(blocks) == 2
    _run_in(tmp_path, blocks, "quickstart")
    drawn = (tmp_path / "neuron.svg").read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page("README"))
    # two pictures: the quickstart's graph and the playground's screenshot
    assert sorted(pictures) == ["docs/playground.png", "docs/quickstart-neuron.svg"]
    assert (ROOT / "docs/playground.png").read_bytes().startswith(b"\x89PNG")
    shown = (ROOT / "docs/quickstart-neuron.svg").read_text(encoding="utf-8")
    # the same labels, numbers and edge formulas (the layout may differ between Graphviz versions)
    assert _svg_texts(shown) == _svg_texts(drawn)
    assert any("0.4621" in t for t in _svg_texts(shown))


def _lecture_loss(**kwargs: Any) -> float:
    """The lecture's MLP(3, [4, 4, 1]) loop: 20 steps on its four samples after seed 1337."""
    import random

    from nn.micrograd import MLP

    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    random.seed(1337)
    model = MLP(3, [4, 4, 1], **kwargs)
    for _ in range(20):
        loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data += -0.1 * p.grad
    return loss.data


def test_the_relu_warning_states_what_the_lecture_loop_measures() -> None:
    warning = page("README").split("**relu by default.**", 1)[1].split("\n\n", 1)[0]
    relu = _lecture_loss()
    tanh = _lecture_loss(activation="tanh", output_activation="tanh")
    assert relu == pytest.approx(4.0, abs=1e-3) and "stays at 4.0" in warning
    assert f"loss {tanh:.3f} after 20" in warning.replace("\n> ", " ")
    micrograd_page = page("micrograd").replace("\n", " ")
    assert "keeps a loss of 4.0" in micrograd_page and f"reaches {tanh:.3f} in 20" in micrograd_page


# ---------------------------------------------------------------------------
# the pages' examples


def test_the_engine_examples_print(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(page("semantics"))
    assert blocks
    for i, source in enumerate(blocks):
        exec_block(source, {}, f"semantics block {i}")
        assert capsys.readouterr().out.strip()  # every example prints its result


def test_the_nn_quickstart_prints_what_it_says(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    block = _run_the_pages_example(tmp_path, "nn")
    said = re.search(r"print\(history\.val_accuracy\[-1\]\)\s+# (\S+)", block)
    assert said is not None
    assert capsys.readouterr().out.strip() == said.group(1)
    assert (tmp_path / "moons.json").is_file()


@needs_dot
def test_the_micrograd_page_gives_the_lectures_numbers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run_the_pages_example(tmp_path, "micrograd")
    # micrograd's Neuron(2) after random.seed(1337), on x = (1, -2)
    assert capsys.readouterr().out.startswith("Value(data=0.10")


@needs_dot
def test_the_pictures_page_example_draws_and_explains(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run_the_pages_example(tmp_path, "visualize")
    assert "the sum over 1 path" in capsys.readouterr().out
    assert (tmp_path / "paths.svg").exists()
    assert (tmp_path / "backward" / "backward.html").exists()


def test_the_checking_pages_first_table_is_what_its_example_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    text = page("checking")
    first = python_blocks(text)[0]
    shown = re.search(r"```text\n(.*?)```", text[text.index(first):], re.S)
    assert shown is not None
    exec_block(first, {}, "checking block 0")

    def norm(t: str) -> str:  # error estimates may differ in the last digit between libms
        return re.sub(r"\d\.\de-\d\d", "E", t.strip())

    assert norm(capsys.readouterr().out) == norm(shown.group(1))


def test_the_checking_pages_expression_property_test_runs() -> None:
    (block,) = [b for b in python_blocks(page("checking")) if "expressions(" in b]
    ns: dict[str, Any] = {}
    exec_block(block, ns, "property test of the engine")
    ns["test_engine"]()


def test_the_speed_pages_compiled_step_trains() -> None:
    import autograd
    import nn
    from autograd import Value
    from nn.micrograd import MLP

    (block,) = python_blocks(page("speed"))
    X, labels = nn.data.make_moons(32, noise=0.1, seed=0)
    Y = [2 * t - 1 for t in labels]  # the demo's -1/+1 labels

    def model() -> Any:
        return MLP(2, [8, 8, 1], seed=0)

    ns: dict[str, Any] = {"autograd": autograd, "Value": Value, "X": X, "Y": Y, "model": model()}
    trained = ns["model"]
    exec_block(block, ns, "speed page's compiled step")
    assert isinstance(ns["loss"], float)
    inputs = [list(map(Value, row)) for row in X]
    final = ns["loss_fn"](inputs, Y).data
    ns["model"] = model()  # the same seed: the weights before training
    assert final < ns["loss_fn"](inputs, Y).data
    assert trained.parameters()[0].data != ns["model"].parameters()[0].data


# every ```python block of the README and docs/, and the test that runs it (above, or in
# test_testing: checking's failure report and five-line property test, ops' custom op)
RUN = {"README": 2, "semantics": 1, "ops": 1, "nn": 1, "micrograd": 1, "visualize": 1,
       "checking": 4, "speed": 1, "sweeps": 3, "playground": 1}


def test_every_python_example_has_a_test_that_runs_it() -> None:
    found = {p.stem: len(python_blocks(page(p.stem))) for p in sorted(DOCS.glob("*.md"))}
    found["README"] = len(python_blocks(page("README")))
    assert {k: v for k, v in found.items() if v} == RUN, "a new example needs a test"


# ---------------------------------------------------------------------------
# links


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _prose(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def _anchors(path: Path) -> set[str]:
    prose = _prose(path.read_text(encoding="utf-8"))
    return {_slug(h) for h in re.findall(r"^#+ (.*)$", prose, re.M)}


PAGES = [README, *sorted(DOCS.glob("*.md")), ROOT / "examples" / "README.md"]


def _check_links(path: Path, text: str) -> int:
    """Assert every relative link of ``text`` (written in ``path``) resolves; return how many."""
    links = re.findall(r"\]\(([^)\s]+)\)", _prose(text))
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue  # https://, mailto:
        name, _, anchor = link.partition("#")
        target = (path.parent / name).resolve() if name else path
        assert target.exists(), f"{path.name}: {link} leads nowhere"
        if anchor and target.suffix == ".md":
            assert anchor in _anchors(target), f"{path.name}: {link}: no such heading"
    return len(links)


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_leads_to_a_file_and_heading(path: Path) -> None:
    found = _check_links(path, path.read_text(encoding="utf-8"))
    assert found or path != README


def test_the_notebooks_links_lead_to_files() -> None:
    path = ROOT / "examples" / "lecture.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert _check_links(path, text) >= 3  # its "Where next" pages
