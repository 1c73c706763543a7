"""The playground server, started for real: the protocol, bad input, two tabs, training."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("websockets")

import nn
from tests.playground_server import Tab, running
from visualize.app.playground.session import Session, features
from visualize.app.playground.state import PlaygroundState, load_state

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():
    with running(Session(PlaygroundState(n_points=60, hidden=[3]))) as (base, app):
        yield base, app


def test_the_page_and_its_module_are_served_with_a_strict_policy(server):
    base, _ = server
    with urllib.request.urlopen(f"http://{base}/") as r:
        page = r.read().decode()
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert 'src="/static/playground.js"' in page and "<script>" not in page
    with urllib.request.urlopen(f"http://{base}/static/playground.js") as r:
        js = r.read().decode()
    assert "export default {render}" in js
    assert ".innerHTML" not in js and "insertAdjacentHTML" not in js and "eval(" not in js


def test_another_host_name_is_refused(server):
    base, _ = server
    req = urllib.request.Request(f"http://{base}/", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400


def test_another_sites_websocket_is_refused(server):
    base, _ = server
    from websockets.exceptions import InvalidStatus

    with pytest.raises((InvalidStatus, ConnectionError, OSError)):
        t = Tab(base, origin="http://evil.example")
        t.send({"type": "hello"})
        t.until("state", timeout=2)


HOSTILE = [
    ("not json", "not JSON"),
    ("[1, 2]", "a JSON object"),
    ('{"type": "rm -rf"}', "unknown message type"),
    ('{"type": "set"}', "the key 'changes' is missing"),
    ('{"type": "set", "changes": {"hidden": [100000]}}', "hidden[0] must be an integer in [1, 8]"),
    ('{"type": "set", "changes": {"n_points": 100000000}}', "n_points must be an integer"),
    ('{"type": "set", "changes": {"lr": -1}}', "lr must be a number in (0, 10]"),
    ('{"type": "set", "changes": {"features": ["__import__(\'os\').system(\'x\')"]}}',
     "features[0] must be one of"),
    ('{"type": "step", "steps": 10000000}', "steps index must be an integer in [1, 1000]"),
    ('{"type": "step", "steps": "1; drop"}', "steps must be an integer"),
    ('{"type": "delete_point", "split": "../etc", "index": 0}', "split must be 'train'"),
    ('{"type": "set_weight", "layer": 0, "neuron": 0, "index": 0, "value": 1e300}',
     "value must be a number in [-1e+06, 1e+06]"),
    ('{"type": "inspect", "split": "train", "index": -1}', "train point index"),
    ('{"type": "export", "what": "/etc/passwd"}', "export: what must be one of"),
    ('{"type": "load_state", "fragment": "AAAA"}', "not a playground state"),
    ('{"type": "load_state"}', "exactly one of"),
    ('{"type": "hello", "extra": 1}', "unknown key 'extra'"),
    ("[" * 100000 + "]" * 100000, "not JSON"),
    ('{"type": "add_point", "x1": 0, "x2": 0, "label": 1, "split": "train", '
     '"pad": "' + "x" * 2_000_000 + '"}', "at most 1000000 bytes"),
]


@pytest.mark.parametrize(("raw", "says"), HOSTILE)
def test_a_hostile_message_gets_a_clear_error_and_the_server_keeps_running(server, raw, says):
    base, app = server
    tab = Tab(base)
    try:
        before = app.state.hub.controller.session.state
        tab.send(raw)
        err = tab.until("error")
        assert says in err["message"]
        tab.send({"type": "hello"})
        assert tab.until("state")["state"] == before.to_dict()  # nothing changed or lost
    finally:
        tab.close()


def test_two_tabs_see_the_same_run(server):
    base, _ = server
    a, b = Tab(base), Tab(base)
    try:
        for t in (a, b):
            t.send({"type": "hello"})
            t.until("frame")
        a.send({"type": "set", "changes": {"activation": "relu"}})
        assert b.until("state")["state"]["activation"] == "relu"
        b.send({"type": "step", "steps": 2})
        assert a.until("frame", epoch=2)["epoch"] == 2
        a.send({"type": "play"})
        assert b.until("frame", epoch=5)["epoch"] == 5  # the loop trains for both tabs
        b.send({"type": "pause"})
        assert a.until("status", playing=False)["playing"] is False
    finally:
        a.close()
        b.close()


def test_the_page_trains_n_steps_as_nn_fit_does(server, tmp_path):
    base, _ = server
    tab = Tab(base)
    try:
        tab.send({"type": "load_state", "state": {"dataset": "moons", "hidden": [8, 8],
                                                  "n_points": 200, "optimizer": "adam",
                                                  "lr": 0.03, "batch_size": 10, "seed": 3}})
        tab.until("frame")
        for _ in range(5):
            tab.send({"type": "step", "steps": 2})
            frame = tab.until("frame")
        assert frame["epoch"] == 10
        tab.send({"type": "get_state"})
        st = PlaygroundState.from_dict(tab.until("state")["state"])
    finally:
        tab.close()
    page = [w for layer in frame["weights"] for n in layer for w in n]
    model = nn.MLP(len(st.features), [8, 8, 1], activation="tanh", seed=3)
    opt = nn.optim.Adam(model.parameters(), lr=0.03)
    nn.fit(model, features(st.train, st.features), [int(p[2]) for p in st.train], epochs=10,
           batch_size=10, optimizer=opt, loss="bce", seed=3, progress=False, compile=True)
    assert max(abs(a - b.data) for a, b in zip(page, model.parameters())) < 1e-9


def test_exports_arrive_as_text(server, tmp_path):
    base, _ = server
    tab = Tab(base)
    try:
        for what in ("model", "script", "state"):
            tab.send({"type": "export", "what": what})
            m = tab.until("export")
            (tmp_path / m["filename"]).write_text(m["text"], encoding="utf-8")
    finally:
        tab.close()
    assert nn.load(tmp_path / "playground-model.json").nouts[-1] == 1
    assert load_state(tmp_path / "playground-state.json").weights is not None
    out = subprocess.run([sys.executable, str(tmp_path / "playground_run.py")], timeout=120,
                         capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert isinstance(json.loads(out.stdout), list)


def test_the_state_file_survives_a_server_restart(tmp_path):
    path = tmp_path / "state.json"
    with running(Session(PlaygroundState(n_points=30)), state_file=path) as (base, _):
        tab = Tab(base)
        tab.send({"type": "add_point", "x1": 1.0, "x2": 2.0, "label": 1})
        tab.until("state")
        tab.send({"type": "step", "steps": 3})
        tab.until("frame")
        tab.close()
    saved = load_state(path)
    assert saved.epoch == 3 and [1.0, 2.0, 1.0] in saved.train
    with running(Session(saved), state_file=path) as (base, _):
        tab = Tab(base)
        tab.send({"type": "hello"})
        assert tab.until("state")["state"] == saved.to_dict()
        tab.close()


def test_the_command_prints_its_url_serves_and_stops_on_ctrl_c_with_one_line(tmp_path):
    import os
    import signal

    state = tmp_path / "run.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "visualize.app.console", "playground", "--port", "0",
         "--no-browser", "--state", str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline()
        assert line.startswith("chainrule playground: http://127.0.0.1:"), line
        url = line.split()[2]
        with urllib.request.urlopen(url) as r:
            assert b"chainrule-playground" in r.read()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert out.strip().splitlines() == [f"chainrule playground: stopped; state saved to {state}"]
    assert err == ""
    assert load_state(state).epoch == 0


def test_a_bad_state_file_or_port_is_refused_with_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"lr": 99}', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "visualize.app.console", "playground",
                          "--no-browser", "--state", str(bad)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert "lr must be a number in (0, 10], got 99" in out.stdout + out.stderr
    out = subprocess.run([sys.executable, "-m", "visualize.app.console", "playground",
                          "--port", "70000"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 2 and "--port must be in [0, 65535]" in out.stderr
