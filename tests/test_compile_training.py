"""fit(compile=True): the compiled training loop gives the dynamic loop's history."""

from __future__ import annotations

import inspect

import pytest

nn = pytest.importorskip("nn")
training = pytest.importorskip("nn.training")

pytestmark = pytest.mark.skipif(
    "compile" not in inspect.signature(training.fit).parameters,
    reason="nn.fit has no compile option yet",
)


def _moons():
    X, y = nn.data.make_moons(40, noise=0.1, seed=3)
    return X, [2 * v - 1 for v in y]


@pytest.mark.parametrize("loss,batch_size", [("hinge", 16), ("mse", None), ("bce", 10)])
def test_compiled_fit_matches_dynamic(loss, batch_size):
    X, y = _moons()
    if loss == "bce":
        y = [(v + 1) // 2 for v in y]
    runs = []
    for compiled in (False, True):
        model = nn.MLP(2, [8, 1], seed=0)
        h = training.fit(model, X, y, epochs=3, batch_size=batch_size, optimizer="sgd",
                         lr=0.05, loss=loss, l2=1e-4, seed=1, progress=False,
                         compile=compiled)
        runs.append((h.loss, h.accuracy, model.state_dict()))
    (l0, a0, s0), (l1, a1, s1) = runs
    assert l1 == pytest.approx(l0, rel=1e-9)
    assert a1 == a0
    for k in s0:
        assert s1[k] == pytest.approx(s0[k], rel=1e-9, abs=1e-12)


def test_compiled_fit_multiclass_cross_entropy():
    X, labels = nn.data.make_blobs(30, centers=3, n_features=2, seed=2)
    runs = []
    for compiled in (False, True):
        model = nn.MLP(2, [8, 3], seed=0)
        h = training.fit(model, X, labels, epochs=2, batch_size=8, optimizer="sgd", lr=0.1,
                         seed=1, progress=False, compile=compiled)
        runs.append((h.loss, h.accuracy))
    assert runs[1][0] == pytest.approx(runs[0][0], rel=1e-9)
    assert runs[1][1] == runs[0][1]
