"""The playground's session: it trains with the real engine, as nn.fit does, and explains points."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import nn
from visualize.app.playground.session import PlaygroundError, Session, features
from visualize.app.playground.state import PlaygroundState, StateError

ROOT = Path(__file__).resolve().parents[1]


def _fit_same(st: PlaygroundState, epochs: int) -> list[float]:
    """Train a fresh model on the state's data with nn.fit: what the page must equal."""
    model = nn.MLP(len(st.features), [*st.hidden, 1], activation=st.activation, seed=st.seed)
    opt = {"sgd": lambda p: nn.optim.SGD(p, lr=st.lr),
           "adam": lambda p: nn.optim.Adam(p, lr=st.lr)}[st.optimizer](model.parameters())
    X = features(st.train, st.features)
    y = [p[2] for p in st.train] if st.regression else [int(p[2]) for p in st.train]
    nn.fit(model, X, y, epochs=epochs, batch_size=st.batch_size, optimizer=opt,
           loss="mse" if st.regression else "bce",
           l2=st.reg_rate if st.regularization == "l2" else 0.0, seed=st.seed,
           progress=False, compile=True)
    return [p.data for p in model.parameters()]


@pytest.mark.parametrize("use_numpy", [None, False])
@pytest.mark.parametrize("settings", [
    {"dataset": "moons", "hidden": [8, 8], "optimizer": "adam", "lr": 0.03, "batch_size": 10},
    {"dataset": "plane", "hidden": [3], "features": ["x1", "x2", "x1*x2"], "optimizer": "sgd",
     "lr": 0.01, "batch_size": 7, "regularization": "l2", "reg_rate": 0.003, "seed": 4},
])
def test_n_steps_equal_nn_fit_with_the_same_seed_and_settings(settings, use_numpy):
    st = PlaygroundState.from_dict({"n_points": 120, **settings})
    s = Session(st, use_numpy=use_numpy)
    s.step(12)
    ours = [p.data for p in s.model.parameters()]
    theirs = _fit_same(s.state, 12)
    assert s.state.epoch == 12 and len(s.state.history_train) == 13
    assert max(abs(a - b) for a, b in zip(ours, theirs)) < 1e-9
    assert s.state.history_train[-1] < s.state.history_train[0]


def _run_script(text: str, tmp_path: Path) -> list[float]:
    path = tmp_path / "run.py"
    path.write_text(text, encoding="utf-8")
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_exported_script_reproduces_the_segment_with_nn_fit(tmp_path):
    s = Session(PlaygroundState(dataset="xor", hidden=[4], optimizer="adam", lr=0.03,
                                n_points=80, regularization="l1", reg_rate=0.001))
    s.step(3)
    s.apply({"lr": 0.01})  # a new segment: Adam's moments carry over, the script loads them
    s.add_point(1.0, -1.0, 1)
    s.step(4)
    got = _run_script(s.export_script(), tmp_path)
    ours = [p.data for p in s.model.parameters()]
    assert max(abs(a - b) for a, b in zip(got, ours)) < 1e-9


def test_the_exported_model_is_a_file_nn_load_reads(tmp_path):
    s = Session(PlaygroundState(hidden=[2, 3]))
    s.step(2)
    path = tmp_path / "m.json"
    path.write_text(s.export_model(), encoding="utf-8")
    model = nn.load(path)
    x = features([[1.5, -2.0, 0]], s.state.features)
    assert model.predict(x) == s.model.predict(x)


def test_changes_restart_or_continue_the_run_as_documented():
    s = Session(PlaygroundState(hidden=[2]))
    s.step(2)
    before = s.weights()
    assert s.apply({"lr": 0.1}) == {"lr"} and s.state.epoch == 2 and s.weights() == before
    s.apply({"activation": "relu"})
    assert s.state.epoch == 0 and s.state.history_train and len(s.state.history_train) == 1
    train = s.state.train
    s.apply({"noise": 0.3})
    assert s.state.train != train
    with pytest.raises(StateError, match=r"hidden\[0\] must be an integer in \[1, 8\]"):
        s.apply({"hidden": [50]})
    assert s.state.hidden == [2]
    with pytest.raises(PlaygroundError, match="cannot be set directly"):
        s.apply({"weights": None})


def test_points_and_weights_are_edited_with_checks():
    s = Session(PlaygroundState(n_points=20))
    n = len(s.state.train)
    s.add_point(2.0, 3.0, 1)
    assert s.state.train[-1] == [2.0, 3.0, 1.0] and len(s.state.train) == n + 1
    s.delete_point("train", 0)
    assert len(s.state.train) == n
    with pytest.raises(StateError, match=r"x1\) must be a number in \[-6, 6\]"):
        s.add_point(60.0, 0.0, 1)
    with pytest.raises(PlaygroundError, match=r"test point index must be an integer"):
        s.delete_point("test", 999)
    s.set_weight(0, 1, 2, 0.5)  # the bias of h1.2 (2 inputs)
    assert s.model.layers[0].neurons[1].b.data == 0.5
    with pytest.raises(PlaygroundError, match="neuron index"):
        s.set_weight(0, 9, 0, 1.0)


def test_a_diverging_run_stops_with_a_message_and_keeps_finite_weights():
    s = Session(PlaygroundState(dataset="plane", lr=10.0, hidden=[8, 8], activation="relu",
                                batch_size=1))
    with pytest.raises(PlaygroundError, match="lower the learning rate"):
        s.step(50)
    assert all(abs(w) < float("inf") for w in (p.data for p in s.model.parameters()))


def test_inspect_gives_the_engines_forward_and_backward_for_one_point():
    s = Session(PlaygroundState(hidden=[3], n_points=40))
    s.step(1)
    r = s.inspect("train", 0, frames=True)
    p = s.state.train[0]
    x = features([p], s.state.features)[0]
    out = s.model(x)
    assert r["output"] == pytest.approx(out.data) and r["activations"][-1][0] == pytest.approx(
        out.data)
    loss = nn.binary_cross_entropy_with_logits([out], [p[2]])
    loss.backward()
    flat = [g for layer in r["weight_grads"] for n in layer for g in n]
    assert flat == pytest.approx([q.grad for q in s.model.parameters()])
    # d loss / d output of a logit is sigmoid(o) - t
    import math
    assert r["dactivations"][-1][0] == pytest.approx(1 / (1 + math.exp(-out.data)) - p[2])
    assert len(r["frames"]) == len(r["captions"]) >= 5  # seed, 3 + 1 neurons, loss, summary


def test_the_views_are_one_forward_over_the_grid_in_both_engines():
    a = Session(PlaygroundState(hidden=[3, 2]))
    b = Session(PlaygroundState(hidden=[3, 2]), use_numpy=False)
    pts = [[1.0, 2.0, 0.0], [-3.0, 1.0, 1.0]]
    for ra, rb in zip(a._activations(pts), b._activations(pts)):
        assert ra == pytest.approx(rb)
    f = a.frame()
    assert len(f["neuron_maps"]["maps"]) == 3 + 2 + 1
    assert f["epoch"] == 0 and f["curve"]["epochs"] == [0]


def test_save_this_run_as_a_page_replays_every_epoch(tmp_path):
    s = Session(PlaygroundState(hidden=[3], n_points=40))
    s.step(4)
    page = s.export_page()
    assert page.startswith("<!DOCTYPE html>") and "chainrule playground, replayed" in page
    data = page[page.index("const DATA = ") + 13:]
    data = json.loads(data[:data.index(";\n")])
    assert len(data["weights"]) == 5 and data["weights"][-1] == s.weights()
    assert data["loss"] == s.state.history_train[1:]
    s.apply({"features": ["x1", "x2", "x1*x2"]})
    with pytest.raises(PlaygroundError, match="two inputs x1, x2"):
        s.export_page()
