"""The playground's Jupyter widget (anywidget), exercised in a real kernel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat (dev extra) is not installed")
nbclient = pytest.importorskip("nbclient", reason="nbclient (dev extra) is not installed")
pytest.importorskip("ipykernel", reason="ipykernel (dev extra) is not installed")
pytest.importorskip("anywidget", reason="anywidget (playground extra) is not installed")

ROOT = Path(__file__).resolve().parents[1]

CELLS = [
    f"import sys; sys.path.insert(0, {str(ROOT)!r})",
    """
import json, time
import nn, traitlets
from visualize.app.playground import Playground
from visualize.app.playground import assets
pg = Playground(data="xor", hidden=[4], seed=1, lr=0.1)
pg
""",
    """
pg.step(3)
sent = []
pg.send = lambda m, buffers=None: sent.append(m)  # what the front-end would receive
pg.play()
seen = []
for _ in range(200):  # the state is readable while it trains
    seen.append(pg.state.epoch)
    if seen[-1] >= 8:
        break
    time.sleep(0.02)
pg.pause()
print(json.dumps({"seen": seen, "epoch": pg.epoch, "playing": pg.playing,
                  "frames": sum(m["type"] == "frame" for m in sent),
                  "model": type(pg.model).__name__,
                  "same_weights": [p.data for p in pg.model.parameters()] ==
                                  [w for l in pg.state.weights for n in l for w in n],
                  "history": len(pg.history["train"])}))
""",
    """
pg.lr = 0.3
out = {"lr": pg.state.lr}
try:
    pg.hidden = [99]
except traitlets.TraitError as e:
    out["error"] = str(e)
out["hidden"] = pg.hidden
pg._on_custom(pg, {"type": "set", "changes": {"activation": "relu", "hidden": [2, 2]}}, [])
out["activation"], out["hidden2"] = pg.activation, pg.hidden
pg._on_custom(pg, {"type": "set", "changes": {"lr": "1; import os"}}, [])
out["last_error"] = pg.last_error
out["esm_is_the_page_module"] = pg._esm == assets.esm()
m = nn.MLP(2, [3, 1], activation="tanh", seed=2)
x = [[0.3, 0.2]]
out["from_model"] = Playground(m, data="moons").model.predict(x) == m.predict(x)
print(json.dumps(out))
""",
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(
                                         tmp_path_factory.mktemp("widget"))}})
    client.execute()
    return nb.cells


def _printed(cell):
    return json.loads("".join(o["text"] for o in cell["outputs"] if o["output_type"] == "stream"))


def test_the_widget_displays_as_an_anywidget_view(outputs):
    data = [o["data"] for o in outputs[1]["outputs"] if o["output_type"] == "execute_result"]
    assert data and "application/vnd.jupyter.widget-view+json" in data[0]


def test_it_trains_in_the_background_and_is_readable_meanwhile(outputs):
    got = _printed(outputs[2])
    assert got["seen"][0] >= 3 and got["seen"][-1] >= 8 and len(set(got["seen"])) > 1
    assert got["epoch"] >= 8 and got["playing"] is False and got["frames"] >= 5
    assert got["model"] == "MLP" and got["same_weights"] and got["history"] == got["epoch"] + 1


def test_settings_are_traits_checked_like_the_page(outputs):
    got = _printed(outputs[3])
    assert got["lr"] == 0.3
    assert "hidden[0] must be an integer in [1, 8]" in got["error"] and got["hidden"] == [4]
    assert got["activation"] == "relu" and got["hidden2"] == [2, 2]
    assert "lr must be a number" in got["last_error"]
    assert got["esm_is_the_page_module"] and got["from_model"]


def test_the_docs_widget_example_runs(capsys):
    from tests.docs_text import exec_block, page, python_blocks

    (block,) = python_blocks(page("playground"))
    ns: dict = {}
    exec_block(block, ns, "docs/playground.md widget example")
    epoch, loss, points, kind = capsys.readouterr().out.split()
    assert epoch == "3" and float(loss) < ns["pg"].history["train"][0]
    assert int(points) == len(ns["pg"].state.train) and kind == "MLP"
    assert ns["pg"].state.lr == 0.03
