"""Every lesson's claims, checked against what its run measured and wrote.

Each lesson runs once per module (a module-scoped fixture, seed 0, into a
temporary folder); the tests read its measurements, recompute what can be
recomputed independently, and open its pages in headless Chromium (skipped
with a reason when Chromium is missing).
"""

from __future__ import annotations

import html
import itertools
import math
import re
from pathlib import Path
from typing import Any

import pytest

import autograd
import nn
from tests.browser import Browser, chromium_missing
from visualize.app import lessons
from visualize.app.lessons import (
    learning_rate,
    local_minima,
    loss_functions,
    optimizers,
    overfitting,
    training_step,
    vanishing_gradients,
)

pytest.importorskip("matplotlib")


#: what each lesson printed, by name (the runs of this module)
PRINTED: dict[str, list[str]] = {}


def _run(name: str, tmp_path_factory: pytest.TempPathFactory) -> lessons.LessonResult:
    out = tmp_path_factory.mktemp(name)
    lines = PRINTED.setdefault(name, [])
    return lessons.run(name, out / "deeper" / name, seed=0, echo=lines.append)


def _lesson_fixture(lesson: str, fixture: str) -> Any:
    """A module-scoped fixture named ``fixture``: the lesson run once (seed 0) for its tests."""
    @pytest.fixture(scope="module", name=fixture)
    def run(tmp_path_factory: pytest.TempPathFactory) -> lessons.LessonResult:
        return _run(lesson, tmp_path_factory)
    return run


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if chromium_missing() is not None:
        pytest.skip(chromium_missing() or "")
    with Browser() as b:
        yield b


def _check_pages(result: lessons.LessonResult) -> None:
    """README.md and index.html state every claim; every picture is a real SVG."""
    readme = result.readme.read_text(encoding="utf-8")
    index = result.index.read_text(encoding="utf-8")
    assert result.claims
    for claim in result.claims:
        assert claim in readme
        assert html.escape(claim) in index
    for pic in result.pictures:
        assert pic.path.is_file() and pic.path.stat().st_size > 0, pic.path
        assert pic.path.name in readme
        if pic.kind == "svg":
            head = pic.path.read_text(encoding="utf-8")[:2000]
            assert "<svg" in head
    assert not _REMOTE.search(index), "the page must not load anything from the network"


# (a link to the local playground, http://127.0.0.1:PORT/, loads nothing until clicked)
_REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//(?!127\.0\.0\.1:)|"""
                     r"""url\(\s*["']?(?:https?:)?//|@import""", re.IGNORECASE)


def _open_static(browser: Browser, result: lessons.LessonResult) -> None:
    browser.open(result.index)
    n_svg = sum(p.kind == "svg" for p in result.pictures)
    assert browser.js("return document.querySelectorAll('figure svg').length") == n_svg
    assert browser.js("return document.querySelectorAll('.claims li').length") == \
        len(result.claims)
    browser.assert_no_errors()


# ---------------------------------------------------------------------------
# chain-rule


chain = _lesson_fixture("chain-rule", "chain")


def test_chain_rule_numbers_are_the_lectures(chain: lessons.LessonResult) -> None:
    m = chain.measured
    assert m["o"] == pytest.approx(math.sqrt(0.5), abs=1e-12)
    assert m["dodn"] == pytest.approx(0.5, abs=1e-12)
    expected = {"x1": -1.5, "x2": 0.5, "w1": 1.0, "w2": 0.0, "b": 0.5}  # the lecture's values
    assert m["grads"] == pytest.approx(expected, abs=1e-12)
    assert m["explain_vs_grad"] <= 1e-15
    assert m["finite_diff_gap"] < 1e-6 and m["gradcheck_passed"]
    assert "0.7071" in chain.claims[0] and "1.0000" in chain.claims[1]
    text = (chain.index.parent / "explain.txt").read_text(encoding="utf-8")
    assert "path 1" in text and "passed" in text
    _check_pages(chain)


def test_chain_rule_node_used_twice_sums_its_paths(chain: lessons.LessonResult) -> None:
    m = chain.measured
    assert m["square_paths"] == [3.0, 3.0] and m["square_grad"] == 6.0
    # second measure, by hand: dy/dw = (v1 + v2) (1 - tanh(w x)^2) x, one term per path
    x, w, v1, v2 = 2.0, 0.5, 1.5, -0.5
    local = (1 - math.tanh(w * x) ** 2) * x
    assert m["shared_paths"] == pytest.approx([v1 * local, v2 * local], rel=1e-12)
    assert m["shared_grad"] == pytest.approx((v1 + v2) * local, rel=1e-12)
    assert m["shared_fd"] == pytest.approx(m["shared_grad"], rel=1e-6) and m["shared_gradcheck"]
    text = (chain.index.parent / "explain_shared.txt").read_text(encoding="utf-8")
    assert text.count("path 1") == 2 and text.count("path 2") == 2


def test_chain_rule_pages_step_through(chain: lessons.LessonResult, browser: Browser) -> None:
    _open_static(browser, chain)
    page = chain.index.parent / "backward" / "backward.html"
    assert page.is_file() and chain.measured["backward_steps"] >= 5
    browser.open(page)
    step = "return Number(document.querySelector('[data-step]').dataset.step)"
    first = browser.text(".cr-caption")
    assert browser.js(step) == 0
    browser.click(".cr-next")
    assert browser.js(step) == 1 and browser.text(".cr-caption") != first
    browser.press("End")
    last = browser.count(".cr-frame") - 1
    assert browser.js(step) == last >= chain.measured["backward_steps"] - 1
    browser.assert_no_errors()


# ---------------------------------------------------------------------------
# learning-rate


lr = _lesson_fixture("learning-rate", "lr")


def test_learning_rate_curvature_is_the_data_s(lr: lessons.LessonResult) -> None:
    # the mse Hessian of a line fit is 2 [[mean x², mean x], [mean x, 1]], whatever (w, b)
    xs, _ = learning_rate.data(0)
    n = len(xs)
    a, b, d = 2 * sum(x * x for x in xs) / n, 2 * sum(xs) / n, 2.0
    mid, rad = (a + d) / 2, math.sqrt(((a - d) / 2) ** 2 + b * b)
    assert lr.measured["lambda_max"] == pytest.approx(mid + rad, rel=1e-9)
    assert lr.measured["lambda_min"] == pytest.approx(mid - rad, rel=1e-9)
    assert lr.measured["critical_rate"] == pytest.approx(2 / (mid + rad), rel=1e-9)


def test_learning_rate_claims(lr: lessons.LessonResult) -> None:
    m = lr.measured
    final, start, floor = m["final_loss"], m["start_loss"], m["min_loss"]
    assert m["rates"]["too small"] < m["rates"]["right"] < m["rates"]["large: oscillates"] \
        < m["critical_rate"] < m["rates"]["too large: diverges"]
    # too small: slow, most of the way still ahead... or at least a tenth
    assert m["small_excess_left"] > 0.1 and final["too small"] > 5 * final["right"]
    # right: within 1% of the way after a few dozen steps, falling every step
    assert m["right_steps_to_1pct"] is not None and m["right_steps_to_1pct"] < m["steps"]
    assert m["right_monotone"] and final["right"] < floor * 1.05
    # just below the limit: it jumps across the valley on most steps and still converges
    assert m["sign_flips"] >= 0.9 * m["steps"]
    assert floor < final["large: oscillates"] < start
    # just above: diverges
    assert final["too large: diverges"] > 100 * start
    assert f"{m['critical_rate']:.3f}" in lr.claims[0]
    _check_pages(lr)


def test_learning_rate_descent_is_gradient_descent() -> None:
    xs, ys = learning_rate.data(0)
    loss = learning_rate.loss_fn(xs, ys)
    path, _losses = learning_rate.descend(loss, 0.1, steps=1)
    (w0, b0), (w1, b1) = path
    n = len(xs)
    gw = sum(2 * (w0 * x + b0 - y) * x for x, y in zip(xs, ys)) / n
    gb = sum(2 * (w0 * x + b0 - y) for x, y in zip(xs, ys)) / n
    assert (w1, b1) == pytest.approx((w0 - 0.1 * gw, b0 - 0.1 * gb), rel=1e-12)


def _check_player(browser: Browser, page: Path, steps: int, start: tuple[float, float],
                  final: dict[str, float], value: str) -> None:
    """The path player: starts at the start, steps, plays, ends at the measured values."""
    browser.open(page)
    assert browser.js("return window.player.steps") == steps
    assert browser.text("#step") == f"step 0 of {steps}"
    runs = browser.js("return Object.keys(DATA.runs)")
    assert len(runs) == len(final)
    assert browser.js("return window.player.position(arguments[0], 0)", runs[0]) == \
        pytest.approx(list(start))
    browser.press("ArrowRight", times=3)
    assert browser.text("#step") == f"step 3 of {steps}"
    browser.click("#play")
    assert browser.js("return window.player.playing()")
    browser.js("return new Promise((r) => setTimeout(r, 500))")
    browser.click("#play")
    assert browser.js("return window.player.current()") > 3
    browser.press("End")
    rows = browser.text("#legend").splitlines()
    for row, (name, v) in zip(rows, final.items()):
        assert row.startswith(name)
        if math.isfinite(v) and v < 1e6:
            shown = float(row.split(f"{value} ")[1].split()[0])
            assert shown == pytest.approx(v, rel=1e-3)
    browser.assert_no_errors()


def test_learning_rate_pages(lr: lessons.LessonResult, browser: Browser) -> None:
    _open_static(browser, lr)
    _check_player(browser, lr.index.parent / "paths.html", lr.measured["steps"],
                  learning_rate.START, lr.measured["final_loss"], "loss")


# ---------------------------------------------------------------------------
# local-minima


minima = _lesson_fixture("local-minima", "minima")


def _xor_model_loss(params: list[float]) -> float:
    """The XOR loss computed by nn's own MLP (not the lesson's hand-written formula)."""
    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    for p, v in zip(model.parameters(), params):
        p.data = v
    return float(nn.mse_loss(model.predict(local_minima.X), local_minima.Y).data)


def _fd_grad(f, p: list[float], h: float = 1e-6) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for i in range(len(p)):
        up, down = list(p), list(p)
        up[i] += h
        down[i] -= h
        out.append((f(up) - f(down)) / (2 * h))
    return out


def test_local_minima_plateaus_are_not_minima(minima: lessons.LessonResult) -> None:
    m = minima.measured
    stuck = m["stuck_params"]
    assert 0 < len(stuck) <= m["seeds"] // 2 and m["solved_plain"] == m["seeds"] - len(stuck)
    for p, loss, direction, outs in zip(stuck, m["stuck_losses"], m["stuck_lowest_direction"],
                                        m["stuck_outputs"]):
        f0 = _xor_model_loss(p)
        assert f0 == pytest.approx(loss, rel=1e-12)          # the lesson measured this network
        # second measure of "not a minimum": finite differences of nn's loss
        assert math.hypot(*_fd_grad(_xor_model_loss, p)) > 1e-4
        # and the curvature along the lesson's lowest direction is negative (no Hessian used)
        eps = 1e-2
        ahead = _xor_model_loss([a + eps * d for a, d in zip(p, direction)])
        back = _xor_model_loss([a - eps * d for a, d in zip(p, direction)])
        assert ahead + back - 2 * f0 < 0 and min(ahead, back) < f0
        assert sum(abs(o - 0.5) < 0.1 for o in outs) >= 2     # two points at 0.5: loss 1/8
    assert all(ev[0] < 0 for ev in m["stuck_eigenvalues"])
    # trained on: most leave, all fall
    assert m["escaped"] > len(stuck) // 2 and m["still_falling"] == len(stuck)
    assert all(a < b for a, b in zip(m["stuck_longer_final"], m["stuck_losses"]))
    assert "not local minima" in minima.claims[1]
    _check_pages(minima)


def test_local_minima_neuron_has_a_true_local_minimum(minima: lessons.LessonResult) -> None:
    found = minima.measured["minima"]
    assert len(found) == 2
    best, local = found

    def f(p: list[float]) -> float:
        return local_minima.neuron_value(p[0], p[1])

    assert local["loss"] > best["loss"] + 0.1
    for v in (best, local):
        w, b = v["point"]
        assert math.hypot(*_fd_grad(f, [w, b])) < 1e-6
        assert all(e > 0 for e in v["eigenvalues"])
        # second measure: every nearby point on a ring around it is higher (no Hessian used)
        for k in range(36):
            t = 2 * math.pi * k / 36
            assert f([w + 1e-3 * math.cos(t), b + 1e-3 * math.sin(t)]) > v["loss"]
    assert best["starts"] + local["starts"] + minima.measured["other_ends"] == \
        minima.measured["starts"]
    assert local["starts"] > 0 and minima.measured["longer_drift"] < 1e-12
    # brute force on a grid: nothing finite beats the best valley by much
    grid = [f([-4 + 0.1 * i, -4 + 0.1 * j]) for i in range(81) for j in range(81)]
    assert min(grid) >= best["loss"] - 1e-9


def test_local_minima_training_is_deterministic() -> None:
    _, a = local_minima.train(3, 0.0, steps=50)
    _, b = local_minima.train(3, 0.0, steps=50)
    assert a == b and a[-1] < a[0]


def test_local_minima_hand_loss_is_nns() -> None:
    p = [0.3, -0.2, 0.1, 0.5, 0.7, -0.4, 1.1, -0.9, 0.2]
    vals = [autograd.Value(v) for v in p]
    assert float(local_minima.xor_loss(*vals).data) == pytest.approx(_xor_model_loss(p),
                                                                     rel=1e-12)


# ---------------------------------------------------------------------------
# vanishing-gradients


vanishing = _lesson_fixture("vanishing-gradients", "vanishing")


def test_vanishing_gradients_claims(vanishing: lessons.LessonResult) -> None:
    m = vanishing.measured
    sx, su, rh = "sigmoid, Xavier init", "sigmoid, 4 × Xavier init", "relu, He init"
    assert m["ratio"][sx] > 100                    # sigmoid starves the first layer
    assert m["ratio"][rh] < 10                     # relu keeps them within an order
    assert m["accuracy"][rh] > m["accuracy"][sx] + 0.2
    assert m["accuracy"][sx] < 0.6                 # chance level after the same epochs
    assert m["first_layer"][su] > 100 * m["first_layer"][sx]  # the better init
    assert m["ratio"][su] < 20 and m["accuracy"][su] > m["accuracy"][sx] + 0.1
    # the printed ratios are the measured ones, to the digits shown
    shown = re.findall(r"([\d,.]+)x less", vanishing.claims[0])
    assert [float(v.replace(",", "")) for v in shown] == [
        pytest.approx(m["ratio"][sx], abs=0.5), pytest.approx(m["ratio"][rh], abs=0.05)]
    # second measure: the ratio is last / first of the measured layer means
    assert m["ratio"][rh] == pytest.approx(m["last_layer"][rh] / m["first_layer"][rh])
    _check_pages(vanishing)


def test_vanishing_gradients_echo_prints_what_it_claims(
        vanishing: lessons.LessonResult) -> None:
    r = vanishing
    rh = "relu, He init"
    printed = next(ln for ln in PRINTED["vanishing-gradients"] if ln.strip().startswith(rh + ":"))
    assert f"({vanishing_gradients.times(r.measured['ratio'][rh])})" in printed
    assert vanishing_gradients.times(r.measured["ratio"][rh]) in r.claims[0]


# ---------------------------------------------------------------------------
# optimizers


opts = _lesson_fixture("optimizers", "opts")


def test_rosenbrock_is_computed_by_the_engine() -> None:
    path, values = optimizers.descend(optimizers.OPTIMIZERS["SGD"], 1e-3, steps=1)
    x, y = optimizers.START
    gx = -2 * (1 - x) - 400 * x * (y - x * x)
    gy = 200 * (y - x * x)
    assert values[0] == pytest.approx(optimizers.rosenbrock(x, y), rel=1e-12)
    assert path[1] == pytest.approx((x - 1e-3 * gx, y - 1e-3 * gy), rel=1e-12)


def test_optimizers_claims(opts: lessons.LessonResult) -> None:
    m = opts.measured
    f, reach = m["rosenbrock_final"], m["rosenbrock_steps_to_target"]
    assert set(f) == {"SGD", "momentum 0.9", "RMSprop", "Adam"}
    assert f["SGD"] > 100 * f["momentum 0.9"] and f["SGD"] > 100 * f["Adam"]  # slow convergence
    assert reach["SGD"] is None and reach["momentum 0.9"] is not None \
        and reach["Adam"] is not None
    assert f["momentum 0.9"] < f["Adam"] < f["RMSprop"]       # what the "why" claim says
    # the valley: per-parameter scaling pays, one shared rate does not
    v, vr = m["valley_final"], m["valley_steps_to_target"]
    assert vr["Adam"] is not None and vr["RMSprop"] is not None
    assert vr["SGD"] is None and vr["momentum 0.9"] is None
    assert v["SGD"] > v["momentum 0.9"] > max(v["RMSprop"], v["Adam"])
    loss = m["moons_loss"]
    assert all(loss[k] < loss["SGD"] for k in ("momentum 0.9", "RMSprop", "Adam"))
    assert not any("None" in c for c in opts.claims)
    _check_pages(opts)


def test_optimizers_valley_explained_by_its_curvature(opts: lessons.LessonResult) -> None:
    m = opts.measured
    # second measure: the curvatures by hand (f = x²/100 + 100 y²: 2/100 and 200)
    assert m["valley_curvatures"] == pytest.approx([0.02, 200.0], rel=1e-12)
    lr = m["valley_rate"]["SGD"]
    assert lr < 2 / 200                                   # the steep y caps the shared rate
    # SGD's x after STEPS steps in closed form: x is multiplied by (1 - 0.02 lr) each step
    x0 = optimizers.VALLEY_START[0]
    assert m["valley_sgd_x"] == pytest.approx(x0 * (1 - 0.02 * lr) ** optimizers.STEPS,
                                              rel=1e-9)
    assert f"x = {m['valley_sgd_x']:.2f}" in opts.claims[2]


def test_optimizers_pages(opts: lessons.LessonResult, browser: Browser) -> None:
    _open_static(browser, opts)
    _check_player(browser, opts.index.parent / "rosenbrock_paths.html", optimizers.STEPS,
                  optimizers.START, opts.measured["rosenbrock_final"], "f")
    _check_player(browser, opts.index.parent / "valley_paths.html", optimizers.STEPS,
                  optimizers.VALLEY_START, opts.measured["valley_final"], "f")


# ---------------------------------------------------------------------------
# overfitting


overfit = _lesson_fixture("overfitting", "overfit")


def _rebuilt(params: list[float]) -> nn.MLP:
    model = nn.MLP(2, [*overfitting.HIDDEN, 1], seed=0)
    for p, v in zip(model.parameters(), params):
        p.data = v
    return model


def test_overfitting_claims(overfit: lessons.LessonResult) -> None:
    m = overfit.measured
    runs = m["runs"]
    plain = runs["no fix"]
    assert m["parameters"] > 50 * m["n_train"]
    assert m["plain_final_train_loss"] < 0.01 < 0.1 < m["plain_first_train_loss"]  # memorised
    assert m["plain_final_val_loss"] > 2 * m["plain_best_val_loss"]             # turned up
    for name, v in runs.items():
        if name != "no fix":                     # each fix helps on the test set
            assert v["test_loss"] < 0.5 * plain["test_loss"], name
            assert v["gap"] < 0.5 * plain["gap"], name
            assert v["test_accuracy"] > plain["test_accuracy"], name
    early = runs["early stopping"]
    assert early["epochs"] < overfitting.EPOCHS
    best = min(range(len(m["early_val_loss"])), key=m["early_val_loss"].__getitem__) + 1
    assert m["early_best_epoch"] == best == early["epochs"] - overfitting.PATIENCE
    assert m["l2_penalty_final"] > 0.05                  # the penalty is real, and drawn apart
    _check_pages(overfit)


def test_overfitting_fixes_help_on_fresh_data(overfit: lessons.LessonResult) -> None:
    """Second measure: the trained weights, rebuilt, on 1000 new points from another seed."""
    runs = overfit.measured["runs"]
    Xte, yte = overfitting.test_set(overfit.measured["seed"])
    fresh_X, fresh_y = overfitting.data(1000, 424242)
    loss = {}
    for name, v in runs.items():
        model = _rebuilt(v["params"])
        assert nn.evaluate(model, Xte, yte)[0] == pytest.approx(v["test_loss"], rel=1e-9)
        loss[name] = nn.evaluate(model, fresh_X, fresh_y)[0]
    assert all(loss[k] < 0.6 * loss["no fix"] for k in loss if k != "no fix"), loss


def test_overfitting_test_set_is_never_trained_on() -> None:
    test = {tuple(x) for x in overfitting.test_set(0)[0]}
    for n in (overfitting.N_FEW, overfitting.N_MORE):
        assert not test & {tuple(x) for x in overfitting.data(n, 0)[0]}


def test_overfitting_page(overfit: lessons.LessonResult, browser: Browser) -> None:
    _open_static(browser, overfit)
    # the live form: the playground state file holds the lesson's settings
    from visualize.app.playground.state import from_fragment, load_state

    state = load_state(overfit.index.parent / "playground.json")
    assert (state.dataset, state.n_points, state.noise) == ("moons", overfitting.N_FEW,
                                                            overfitting.NOISE)
    href = browser.js("return document.querySelector('p.live a').getAttribute('href')")
    assert from_fragment(href.split("#", 1)[1]) == state
    assert "chainrule playground --state" in browser.text("p.live")


# ---------------------------------------------------------------------------
# autoencoder


ae = _lesson_fixture("autoencoder", "ae")


def test_autoencoder_claims(ae: lessons.LessonResult) -> None:
    m = ae.measured
    err, before, ks = m["error"], m["error_before"], m["codes"]
    assert all(err[k] < before[k] for k in ks)                 # training reconstructs
    assert all(err[a] > err[b] for a, b in itertools.pairwise(ks))    # a wider code keeps more
    assert err[max(ks)] < m["mean_image_error"] / 2            # better than the average digit
    assert m["code_separation"] > 1.5                          # digits cluster, unlabelled
    _check_pages(ae)


# ---------------------------------------------------------------------------
# digits


digits = _lesson_fixture("digits", "digits")


def test_digits_claims(digits: lessons.LessonResult) -> None:
    m = digits.measured
    acc, c = m["accuracy"], m["confusion"]
    widths = sorted(acc)
    assert acc[widths[-1]] > 0.9
    assert all(acc[a] <= acc[b] for a, b in itertools.pairwise(widths))
    assert sum(map(sum, c)) == m["n_test"]
    assert sum(c[i][i] for i in range(10)) == m["n_test"] - m["mistakes"]
    assert m["mistakes"] == round((1 - acc[widths[-1]]) * m["n_test"])
    count, t, p = m["top_confusion"]
    assert c[t][p] == count == max(c[i][j] for i in range(10) for j in range(10) if i != j)
    _check_pages(digits)


# ---------------------------------------------------------------------------
# playground


play = _lesson_fixture("playground", "play")


def test_playground_claims(play: lessons.LessonResult) -> None:
    m = play.measured
    assert m["replay_matches"] and m["frames"] == m["epochs"] + 1
    assert m["loss_last"] < m["loss_first"] / 3
    assert m["val_accuracy_last"] > m["val_accuracy_first"]
    _check_pages(play)


def test_playground_page_replays_the_run(play: lessons.LessonResult, browser: Browser) -> None:
    page = play.index.parent / "training.html"
    browser.open(page)
    pg = "window.playground"
    assert browser.js(f"return {pg}.frames") == play.measured["frames"]
    assert browser.text("#epoch") == f"epoch 0 of {play.measured['epochs']}"
    browser.press(" ")                               # space plays and pauses
    assert browser.js(f"return {pg}.playing()")
    browser.press(" ")
    assert not browser.js(f"return {pg}.playing()")
    browser.press("Home")
    width0 = browser.js("return document.querySelector('#net line').getAttribute('stroke-width')")
    browser.click("#next")
    assert browser.js(f"return {pg}.current()") == 1
    browser.press("ArrowRight", times=2)
    assert browser.text("#epoch").startswith("epoch 3 of")
    browser.press("End")
    assert browser.js(f"return {pg}.current()") == play.measured["epochs"]
    width_end = browser.js(
        "return document.querySelector('#net line').getAttribute('stroke-width')")
    assert width_end != width0                       # the edges move with the weights
    title = browser.js("return document.querySelector('#net line title').textContent")
    assert title.startswith("layer 1, neuron 1 ← input x1: w = ")
    assert "d loss/d w = " in title and "no step" not in title
    assert title.split("w = ")[1].split(",")[0] == browser.js(
        "return DATA.weights[DATA.weights.length - 1][0][0][0].toPrecision(4)")
    # the page's forward pass of the last frame is the trained model's
    score = browser.js(f"return {pg}.predict({pg}.frames - 1, 0.5, 0.25)")
    assert score == pytest.approx(play.measured["grid_point_score"], abs=1e-9)
    browser.press("Home")
    assert browser.js(f"return {pg}.current()") == 0
    browser.click("#play")
    assert browser.js(f"return {pg}.playing()")
    browser.js("return new Promise((r) => setTimeout(r, 1000))")
    assert browser.js(f"return {pg}.current()") >= 1   # autoplay advanced
    browser.click("#play")
    assert not browser.js(f"return {pg}.playing()")
    browser.assert_no_errors()
    _open_static(browser, play)


def test_lessons_are_deterministic(tmp_path: Path, play: lessons.LessonResult) -> None:
    again = lessons.run("playground", tmp_path / "again", seed=0, echo=lambda s: None)
    assert again.measured == play.measured and again.claims == play.claims
    assert (tmp_path / "again" / "training.html").read_bytes() == \
        (play.index.parent / "training.html").read_bytes()
    other = lessons.run("playground", tmp_path / "other", seed=1, echo=lambda s: None)
    assert other.measured["final_weights"] != play.measured["final_weights"]


# ---------------------------------------------------------------------------
# loss-functions


lossfn = _lesson_fixture("loss-functions", "lossfn")


def test_loss_functions_gradients_are_the_formulas(lossfn: lessons.LessonResult) -> None:
    m = lossfn.measured
    mse, ce = loss_functions.LOSSES
    p = 1 / (1 + math.exp(-m["z"]))
    # second measure: the closed forms, d/dz (σ(z) - 1)² = 2 (p - 1) p (1 - p); d/dz bce = p - 1
    assert m["gradient"][mse] == pytest.approx(2 * (p - 1) * p * (1 - p), rel=1e-12)
    assert m["gradient"][ce] == pytest.approx(p - 1, rel=1e-12)
    assert abs(m["gradient"][ce]) > 100 * abs(m["gradient"][mse])
    # and by finite differences of the two losses written in plain floats
    h = 1e-6
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    fd_mse = ((sig(m["z"] + h) - 1) ** 2 - (sig(m["z"] - h) - 1) ** 2) / (2 * h)
    fd_ce = (-math.log(sig(m["z"] + h)) + math.log(sig(m["z"] - h))) / (2 * h)
    assert m["gradient"][mse] == pytest.approx(fd_mse, rel=1e-5)
    assert m["gradient"][ce] == pytest.approx(fd_ce, rel=1e-5)
    _check_pages(lossfn)


def test_loss_functions_training_consequence(lossfn: lessons.LessonResult) -> None:
    m = lossfn.measured
    mse, ce = loss_functions.LOSSES
    assert m["start_grad_norm"][ce] > 50 * m["start_grad_norm"][mse]
    assert m["steps_to_95"][ce] is not None and m["steps_to_95"][ce] < 20
    assert m["steps_to_95"][mse] is None or m["steps_to_95"][mse] > 5 * m["steps_to_95"][ce]
    # second measure: the first gradient norm from the closed form over the 40 points
    X, y = loss_functions.data(0)
    w1, w2, b = loss_functions.START
    g = [0.0, 0.0, 0.0]
    for (a, c), t in zip(X, y):
        p = 1 / (1 + math.exp(-(w1 * a + w2 * c + b)))
        d = (p - t) / len(X)                                  # cross-entropy's dL/dz
        g = [g[0] + d * a, g[1] + d * c, g[2] + d]
    assert m["start_grad_norm"][ce] == pytest.approx(math.hypot(*g), rel=1e-9)


# ---------------------------------------------------------------------------
# training-step


onestep = _lesson_fixture("training-step", "onestep")


def test_training_step_by_hand_equals_fit(onestep: lessons.LessonResult) -> None:
    m = onestep.measured
    assert m["fit_after"] == m["hand_after"]          # to the last digit
    assert m["equal_digits"] == 9 and m["max_difference"] == 0.0
    assert m["hand_loss"] == m["fit_loss"]
    assert m["engine_grads"] == pytest.approx(m["hand_grads"], abs=1e-15)
    # second measure: each gradient by finite differences of the loss in plain floats
    def loss(p: list[float]) -> float:
        return training_step.by_hand(p)["loss"]

    grads = _fd_grad(loss, m["before"])
    assert grads == pytest.approx([m["hand_grads"][n] for n in training_step.NAMES], abs=1e-8)
    assert [b - training_step.LR * g for b, g in
            zip(m["before"], [m["hand_grads"][n] for n in training_step.NAMES])] == \
        m["hand_after"]
    text = (onestep.index.parent / "step.txt").read_text(encoding="utf-8")
    assert "dL/dz1  = dL/dh1 · (1 - h1²)" in text
    _check_pages(onestep)


# ---------------------------------------------------------------------------
# the pages with nothing more to drive than their pictures and claims


@pytest.mark.parametrize(
    "fixture", ["minima", "vanishing", "ae", "digits", "lossfn", "onestep"],
    ids=["local-minima", "vanishing-gradients", "autoencoder", "digits", "loss-functions",
         "training-step"])
def test_static_lesson_page(fixture: str, request: pytest.FixtureRequest,
                            browser: Browser) -> None:
    _open_static(browser, request.getfixturevalue(fixture))
