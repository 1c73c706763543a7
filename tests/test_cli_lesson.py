"""``chainrule lesson``: list, names, folders, errors, ``all`` and its index; the demo's replay."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest

import nn
from tests.browser import Browser, chromium_missing
from visualize.app import lessons
from visualize.app.cli import main

pytest.importorskip("matplotlib")

needs_chromium = pytest.mark.skipif(chromium_missing() is not None,
                                    reason=chromium_missing() or "")

IDEAS = ("chain-rule", "training-step", "learning-rate", "loss-functions", "local-minima",
         "vanishing-gradients", "optimizers", "overfitting", "autoencoder", "digits", "playground")


def test_list_shows_one_line_per_lesson_name_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lesson", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(IDEAS)
    assert all(len(line.split(None, 1)[1]) > 20 for line in lines)   # says what it shows


def test_unknown_or_missing_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["lesson", "nope"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "unknown lesson 'nope'" in err and "chain-rule" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        main(["lesson"])
    assert e.value.code == 2
    with pytest.raises(lessons.LessonError, match="unknown lesson 'x'"):
        lessons.get_lesson("x")


def test_unwritable_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["lesson", "chain-rule", "-o", str(blocker / "sub")]) == 2  # refused up front
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"chainrule lesson: error: --out {str(blocker / 'sub')!r}: ")
    assert "is a file" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_failed_write_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    def full(src: str, dst: str) -> None:  # the disk fills as the first file is written
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", full)
    assert main(["lesson", "chain-rule", "-o", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule lesson: error: cannot write '")
    assert err.endswith("No space left on device") and len(err.splitlines()) == 1


def test_one_lesson_into_the_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["lesson", "chain-rule", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "chainrule-out" / "lessons" / "chain-rule"
    assert (folder / "README.md").is_file() and (folder / "index.html").is_file()
    assert "claim: forward: n = x1*w1 + x2*w2 + b = 0.8814" in out
    assert "--seed 3" in (folder / "README.md").read_text(encoding="utf-8")


def test_all_writes_an_index_linking_every_lesson(tmp_path: Path) -> None:
    # two quick lessons stand in for all of them (test_lessons runs each one once)
    results, index = lessons.run_all(tmp_path / "a" / "b", seed=0,
                                     names=["chain-rule", "playground"], echo=lambda s: None)
    html = index.read_text(encoding="utf-8")
    for r in results:
        assert f'href="{r.name}/index.html"' in html
        assert (index.parent / r.name / "index.html").is_file()
        assert all(escape(c) in html for c in r.claims)
        # each lesson page links back to the index
        assert 'href="../index.html"' in r.index.read_text(encoding="utf-8")


def test_all_runs_every_lesson(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run_lesson = lessons.run_lesson  # the real one, before the spy replaces it

    ran: list[str] = []
    cheap = lessons.get_lesson("chain-rule")

    backends: set[str] = set()

    def fake(lesson: lessons.Lesson, out: Path, seed: int, echo: object,
             backend: str = "serial") -> object:
        ran.append(lesson.name)   # a real run of the cheapest lesson stands in for each
        backends.add(backend)
        return run_lesson(cheap, out, seed, echo=lambda s: None)

    monkeypatch.setattr("visualize.app.lessons.run_lesson", fake)
    assert main(["lesson", "all", "-o", str(tmp_path / "all"), "--backend", "processes"]) == 0
    assert ran == list(IDEAS) and len(ran) >= 11
    assert backends == {"processes"}              # --backend reaches every lesson
    assert (tmp_path / "all" / "index.html").is_file()


@needs_chromium
def test_the_index_page_opens_and_links_work(tmp_path: Path) -> None:
    _, index = lessons.run_all(tmp_path, seed=0, names=["chain-rule", "playground"],
                               echo=lambda s: None)
    with Browser() as b:
        b.open(index)
        assert b.count("section.lesson") == 2
        b.click("section.lesson h2 a")
        assert b.js("return location.pathname").endswith("chain-rule/index.html")
        assert b.count("figure svg") == 2  # the neuron and the shared unit
        b.click("a[href='backward.html'], a[href$='backward.html']")
        b.press("ArrowRight")
        assert b.js("return document.querySelector('[data-step]').dataset.step") == "1"
        b.assert_no_errors()


def test_visualize_does_not_import_nn_or_the_lessons() -> None:
    code = ("import sys, visualize; "
            "print('nn' in sys.modules, 'visualize.app.lessons' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent).stdout.split()
    assert out == ["False", "False"]


# ---------------------------------------------------------------------------
# chainrule demo writes the playground for its own run


def _page_data(page: Path) -> dict:  # type: ignore[type-arg]
    text = page.read_text(encoding="utf-8")
    start = text.index("const DATA = ") + len("const DATA = ")
    return json.loads(text[start:text.index(";\n", start)])


def test_demo_writes_its_training_replay(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--epochs", "6", "--samples", "40",
                 "--no-progress"]) == 0
    page = out / "training.html"
    assert f"wrote the training replay page {page}" in capsys.readouterr().out
    data = _page_data(page)
    assert len(data["weights"]) == 7 and len(data["loss"]) == 6
    model = nn.load(out / "model.json")
    last = [v for layer in data["weights"][-1] for n in layer for v in n]
    assert last == [p.data for p in model.parameters()]     # the replay is the demo's run
    assert "differ" not in data["title"]
    if chromium_missing() is None:
        with Browser() as b:
            b.open(page)
            b.press("End")
            assert b.text("#epoch") == "epoch 6 of 6"
            score = b.js("return window.playground.predict(6, 0.3, -0.2)")
            assert score == pytest.approx(model.predict([[0.3, -0.2]])[0], abs=1e-9)
            b.assert_no_errors()


def test_docs_lessons_page_lists_every_lesson() -> None:
    docs = Path(__file__).parent.parent / "docs"
    text = (docs / "lessons.md").read_text(encoding="utf-8")
    section = text[text.index("<!-- lessons:start -->"):text.index("<!-- lessons:end -->")]
    rows = [line.split("|")[1].strip().strip("`") for line in section.splitlines()
            if line.startswith("| `")]
    assert rows == list(lessons.LESSONS) and len(rows) >= 11
    picture = section.split("](", 1)[1].split(")", 1)[0]
    assert (docs / picture).is_file()


def test_playground_records_weights_and_the_gradients_backward_gave() -> None:
    import autograd
    from visualize.app.lessons import playground

    X, y = nn.data.make_moons(12, noise=0.1, seed=5)
    model = nn.MLP(2, [3, 1], activation="tanh", seed=5)
    rec, _ = playground.record(model, X, y, title="t", epochs=2, optimizer="sgd", lr=0.1,
                               seed=5)
    assert len(rec.weights) == len(rec.grads) == 3
    # epoch 1's gradient is d loss / d parameter at the initial weights (one full-batch step)
    fresh = nn.MLP(2, [3, 1], activation="tanh", seed=5)
    assert playground.snapshot(fresh) == rec.weights[0]
    params = fresh.parameters()
    loss = nn.binary_cross_entropy_with_logits(fresh.forward_batch(X), y)
    expected = [float(g) for g in autograd.grad(loss, params)]
    got = [g for layer in rec.grads[1] for n in layer for g in n]
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    with pytest.raises(ValueError, match="2 inputs to 1 output"):
        playground.record(nn.MLP(3, [1], seed=0), [[0, 0, 0]], [1], title="t", epochs=1)


def test_playground_frame_losses_come_from_the_frame_weights() -> None:
    from visualize.app.lessons import playground

    X, y = nn.data.make_moons(40, noise=0.2, seed=3)
    Xv, yv = nn.data.make_moons(20, noise=0.2, seed=4)
    model = nn.MLP(2, [4, 1], activation="tanh", seed=3)
    rec, history = playground.record(model, X, y, title="t", validation_data=(Xv, yv),
                                     epochs=3, optimizer="sgd", lr=0.3, batch_size=8, seed=3,
                                     l2=0.01)
    probe = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    for k in range(3):              # frame k + 1 holds the weights after epoch k + 1
        flat = [w for layer in rec.weights[k + 1] for n in layer for w in n]
        for p, v in zip(probe.parameters(), flat):
            p.data = v
        assert rec.loss[k] == pytest.approx(nn.evaluate(probe, X, y)[0], rel=1e-12)
        assert rec.val_loss[k] == pytest.approx(nn.evaluate(probe, Xv, yv)[0], rel=1e-9)
    assert rec.loss != history.loss  # fit's epoch average (other weights, plus L2) is not it


def test_lesson_backend_runs_sweeps_the_same_on_processes(tmp_path: Path) -> None:
    from visualize.app.lessons import local_minima
    rows = {b: lessons.Context(tmp_path, 0, backend=b).sweep(local_minima.xor_run, {"steps": [30]},
                                                     seeds=[0, 7])
            for b in ("serial", "processes")}
    assert [r["losses"] for r in rows["serial"]] == [r["losses"] for r in rows["processes"]]
    assert [r["seed"] for r in rows["serial"]] == [0, 7]
    assert rows["serial"][1]["losses"] == local_minima.train(7, 0.0, steps=30)[1]


def test_lesson_backend_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lesson", "training-step", "-o", str(tmp_path), "--backend", "serial"]) == 0
    assert "9 of the 9 new weights are equal" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["lesson", "training-step", "-o", str(tmp_path), "--backend", "gpu"])
    assert "invalid choice: 'gpu'" in capsys.readouterr().err
