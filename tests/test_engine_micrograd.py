"""micrograd's names on Value (``_prev``, ``_op``, ``_backward``, the repr) and
checked assignment to ``Value.data``.

The neuron is the one of Karpathy's lecture: o = tanh(x1*w1 + x2*w2 + b) with
x1=2, x2=0, w1=-3, w2=1, b=6.8813735870195432. The expected numbers are worked
out by hand below (d tanh = 1 - o^2 = 0.5 at o = 1/sqrt(2)).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from autograd import Value


def _neuron() -> dict[str, Value]:
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    return {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "x1w1": x1w1,
            "x2w2": x2w2, "s": s, "n": n, "o": o}


def _expected_grads(o: float) -> dict[str, float]:
    dn = 1.0 - o * o
    return {"o": 1.0, "n": dn, "b": dn, "s": dn, "x1w1": dn, "x2w2": dn,
                "x1": dn * -3.0, "w1": dn * 2.0, "x2": dn * 1.0, "w2": dn * 0.0}


def test_manual_backward_cells_give_the_lectures_numbers() -> None:
    v = _neuron()
    assert v["o"].data == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    v["o"].grad = 1.0
    for name in ("o", "n", "b", "s", "x2w2", "x1w1", "x1", "w1"):
        v[name]._backward()  # a leaf's _backward() does nothing
    want = _expected_grads(v["o"].data)
    assert {k: v[k].grad for k in want} == want
    assert v["x1"].grad == pytest.approx(-1.5)
    assert v["w1"].grad == pytest.approx(1.0)
    assert v["x2"].grad == pytest.approx(0.5)
    assert v["w2"].grad == 0.0


def test_topo_built_from_prev_then_backward_matches_backward() -> None:
    v = _neuron()
    topo: list[Value] = []
    visited: set[Value] = set()

    def build(node: Value) -> None:
        if node not in visited:
            visited.add(node)
            for child in node._prev:
                build(child)
            topo.append(node)

    build(v["o"])
    assert len(topo) == 10
    v["o"].grad = 1.0
    for node in reversed(topo):
        node._backward()
    manual = {k: x.grad for k, x in v.items()}

    w = _neuron()
    w["o"].backward()
    assert manual == {k: x.grad for k, x in w.items()}


def test_backward_through_repeated_parent_counts_both_slots() -> None:
    a = Value(3.0)
    y = a * a
    assert y._prev == {a}
    y.grad = 1.0
    y._backward()
    assert a.grad == 6.0


def test_op_symbols_and_prev() -> None:
    a, b = Value(2.0), Value(3.0)
    assert a._op == "" and a._prev == set()
    assert (a + b)._op == "+"
    assert (a * b)._op == "*"
    assert (a ** 2)._op == "**"
    assert a.tanh()._op == "tanh"
    assert a.exp()._op == "exp"
    assert (a - b)._op == "-"
    assert (a / b)._op == "/"
    assert isinstance((a + b)._op, str)
    assert (a + b)._prev == {a, b}
    assert (a + 1)._prev == {a}
    assert str((a * b)._op) == "*" and "x" + (a * b)._op == "x*"


def test_repr_shows_full_precision_like_micrograd() -> None:
    b = Value(6.8813735870195432, label="b")
    b.grad = 0.5
    assert repr(b) == "Value(data=6.881373587019543, grad=0.5, label='b')"
    assert repr(Value(0.1 + 0.2)) == "Value(data=0.30000000000000004, grad=0.0)"


@pytest.mark.parametrize("name", ["_children", "_foo", "_grad"])
def test_unknown_underscore_attribute_is_an_attribute_error_naming_it(name: str) -> None:
    with pytest.raises(AttributeError, match=f"no attribute {name!r}"):
        getattr(Value(1.0), name)


def test_unset_label_and_scope_still_read_as_empty() -> None:
    v = Value(1.0)
    assert v.label == "" and v.scope == ""
    assert not hasattr(v, "_label")


class TestDataAssignment:
    @pytest.mark.parametrize("bad", [[1.0, 2.0], "3.0", None, (1.0,), {"x": 1}, 1j])
    def test_a_non_scalar_fails_at_once_with_a_clear_message(self, bad: object) -> None:
        v = Value(1.5)
        with pytest.raises(TypeError) as err:
            v.data = bad  # type: ignore[assignment]
        msg = str(err.value)
        assert msg.startswith("Value.data: expected a real number")
        assert type(bad).__name__ in msg
        assert v.data == 1.5  # nothing lost

    def test_a_value_is_refused_with_the_fix(self) -> None:
        v = Value(1.5)
        with pytest.raises(TypeError, match=r"other\.data"):
            v.data = Value(2.0)  # type: ignore[assignment]

    @pytest.mark.parametrize("good,want", [(2, 2.0), (True, 1.0), (Fraction(1, 4), 0.25),
                                           (2.5, 2.5), (10**400, math.inf)])
    def test_real_numbers_are_stored_as_floats(self, good: object, want: float) -> None:
        v = Value(0.0)
        v.data = good  # type: ignore[assignment]
        assert type(v.data) is float and v.data == want

    def test_in_place_update_then_forward_and_backward(self) -> None:
        w = Value(2.0)
        w.data -= 0.5
        y = w * w
        y.backward()
        assert (y.data, w.grad) == (2.25, 3.0)

    def test_numpy_scalar_is_accepted(self) -> None:
        np = pytest.importorskip("numpy")
        v = Value(0.0)
        v.data = np.float32(0.5)
        assert type(v.data) is float and v.data == 0.5


def test_nn_and_visualize_do_not_use_micrograd_names() -> None:
    import pathlib

    import nn
    import visualize

    for pkg in (nn, visualize):
        for path in pathlib.Path(str(pkg.__file__)).parent.glob("*.py"):
            text = path.read_text()
            assert "._prev" not in text and "._backward(" not in text, path
