"""Lesson ``chain-rule``: the lecture's neuron, forward and backward, every path's product.

The neuron of micrograd's lecture, ``o = tanh(x1*w1 + x2*w2 + b)`` with
``x1 = 2, x2 = 0, w1 = -3, w2 = 1, b = 6.8813735870195432``: the forward pass
gives ``o = 0.7071``, the backward pass every input's gradient, and
:func:`visualize.explain` writes each gradient as the sum over paths of the
product of the local derivatives along each path. The lesson checks each
gradient against finite differences (:func:`autograd.gradcheck`), draws the
graph with gradients and the backward pass step by step (a page with a slider).
"""

from __future__ import annotations

import autograd
import visualize
from autograd import Value
from visualize.app.lessons._base import Context, Lesson, write_text

NAME = "chain-rule"

B = 6.8813735870195432


def neuron() -> tuple[Value, dict[str, Value]]:
    """Build the lecture's neuron, labelled as in the lecture (``chainrule demo`` draws it too).

    Returns:
        Its output ``o`` and the labelled leaves (and ``n``) by name.
    """
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(B, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "n": n}


def shared(x: float = 2.0, w: float = 0.5, v1: float = 1.5,
           v2: float = -0.5) -> tuple[Value, dict[str, Value]]:
    """A hidden unit used twice: ``h = tanh(w * x)``, ``y = v1 * h + v2 * h``.

    Returns:
        ``y`` and the labelled leaves and ``h`` by name.
    """
    xv, wv = Value(x, label="x"), Value(w, label="w")
    v1v, v2v = Value(v1, label="v1"), Value(v2, label="v2")
    h = (wv * xv).tanh()
    h.label = "h"
    y = v1v * h + v2v * h
    y.label = "y"
    return y, {"x": xv, "w": wv, "v1": v1v, "v2": v2v, "h": h}


def _used_twice(ctx: Context) -> None:
    """``a * a`` and a shared hidden unit: the gradient is the sum over both paths."""
    a = Value(3.0, label="a")
    sq = a * a
    sq.label = "a*a"
    sq.backward()
    ex_sq = visualize.explain(a, sq)
    y, named = shared()
    y.backward()
    w, h = named["w"], named["h"]
    ex = visualize.explain(w, y)
    terms = [p.product for p in ex]
    check = autograd.gradcheck(lambda x, w, v1, v2: v1 * (w * x).tanh() + v2 * (w * x).tanh(),
                               [named[k].data for k in ("x", "w", "v1", "v2")],
                               raise_exception=False)
    fd_w = check.entries[1].numeric  # the entries follow the inputs: x, w, v1, v2
    ctx.measure(square_grad=a.grad, square_paths=[p.product for p in ex_sq],
                shared_grad=w.grad, shared_paths=terms, shared_h=h.data,
                shared_fd=fd_w, shared_gradcheck=bool(check.passed))
    ctx.claim(f"a node used twice: d(a·a)/da at a = 3 is the sum over its 2 paths, "
              f"{' + '.join(f'{p.product:g}' for p in ex_sq)} = {a.grad:g} (= 2a)")
    ctx.claim(f"a shared hidden unit, h = tanh(w·x) feeding y = v1·h + v2·h: explain lists "
              f"{len(terms)} paths from y to w, {terms[0]:.4f} (through v1) and {terms[1]:.4f} "
              f"(through v2); their sum {sum(terms):.4f} is w.grad = {w.grad:.4f}, and finite "
              f"differences give {fd_w:.4f}")
    write_text(ctx.out / "explain_shared.txt", f"{ex_sq}\n\n{ex}\n")
    ctx.add_file(ctx.out / "explain_shared.txt",
                 "the two paths of a·a and of the shared hidden unit, each path's product and "
                 "their sum", "file")
    try:
        pic = visualize.render(y, ctx.out / "shared.svg", partials=True,
                               title="a hidden unit used twice: y = v1·h + v2·h, h = tanh(w·x)")
    except visualize.GraphvizNotFoundError:
        return
    ctx.add_file(pic, "h feeds two products: its grad is the sum of the two gradients passed "
                 "back to it, v1 + v2 (red > 0, blue < 0)", "svg")


def run(ctx: Context) -> None:
    """Forward, backward, explain, gradcheck, and draw the neuron; then a node used twice."""
    o, leaves = neuron()
    o.backward()
    n = leaves.pop("n")
    ctx.echo(f"  forward: n = {n.data:.4f}, o = tanh(n) = {o.data:.4f}")
    local = 1.0 - o.data ** 2
    ctx.echo(f"  backward: do/dn = 1 - o^2 = {local:.4f}")
    texts = []
    worst = 0.0
    for name, leaf in leaves.items():
        ex = visualize.explain(leaf, o)
        texts.append(str(ex))
        worst = max(worst, abs(ex.total - leaf.grad))
        ctx.echo(f"  do/d{name} = {leaf.grad:+.4f}")
    grads = {name: leaf.grad for name, leaf in leaves.items()}

    def f(x1: Value, x2: Value, w1: Value, w2: Value, b: Value) -> Value:
        return (x1 * w1 + x2 * w2 + b).tanh()

    check = autograd.gradcheck(f, [leaves[k].data for k in ("x1", "x2", "w1", "w2", "b")],
                               raise_exception=False)
    fd_gap = max(abs(e.analytic - e.numeric) for e in check.entries)
    ctx.measure(o=o.data, n=n.data, dodn=local, grads=grads, explain_vs_grad=worst,
                finite_diff_gap=fd_gap, gradcheck_passed=bool(check.passed))
    ctx.claim(f"forward: n = x1*w1 + x2*w2 + b = {n.data:.4f} and o = tanh(n) = {o.data:.4f}; "
              f"backward: do/dn = 1 - o² = {local:.4f}")
    ctx.claim(f"chain rule: do/dw1 = do/dn · dn/dw1 = {local:.4f} · x1 = {grads['w1']:.4f}, "
              f"do/dx1 = {local:.4f} · w1 = {grads['x1']:.4f}, do/dw2 = {grads['w2']:.4f} "
              f"(x2 = 0 blocks it), do/db = {grads['b']:.4f}")
    ctx.claim(f"explain's sum over paths equals .grad for all 5 inputs (largest difference "
              f"{worst:.1e}); finite differences agree within {fd_gap:.1e} "
              f"(gradcheck {'passed' if check.passed else 'FAILED'})")
    write_text(ctx.out / "explain.txt", "\n\n".join(texts) + "\n\n" + str(check) + "\n")
    ctx.add_file(ctx.out / "explain.txt",
                 "every path from o to each input, its local derivatives, their product; "
                 "then the gradcheck table", "file")
    title = "the lecture's neuron: o = tanh(x1*w1 + x2*w2 + b)"
    drawn = ctx.draw_backward(o, title)
    if isinstance(drawn, str):
        visualize.render(o, ctx.out / "graph.dot", partials=True, title=title)
        ctx.add_file(ctx.out / "graph.dot", f"the graph as DOT text ({drawn})", "file")
        ctx.note("Graphviz is missing, so the graph is DOT text and there is no step-by-step "
                 "page; install Graphviz to see them.")
        _used_twice(ctx)
        return
    graph, frames = drawn
    ctx.add_file(graph, "the graph after backward: every node's data and grad; each edge "
                 "carries the local derivative ∂ and the gradient it passes back", "svg")
    ctx.add_file(frames.html, f"the backward pass in {len(frames.frames)} steps, with a slider "
                 "(← → keys): each node passes grad × local derivative to its parents", "page")
    ctx.measure(backward_steps=len(frames.frames))
    _used_twice(ctx)
    ctx.note("Read the graph right to left: o's grad is 1; tanh multiplies it by 1 - o² = 0.5; "
             "a + passes it on unchanged; a * passes it times the other operand.")


LESSON = Lesson(
    name=NAME,
    title="The chain rule: the lecture's neuron, forward and backward",
    summary="forward values, backward gradients, every path's product (explain), a "
            "step-through page, a node used twice (gradients add)",
    idea="The forward pass computes the output from the inputs; the backward pass starts from "
         "d o/d o = 1 and moves back through the graph, multiplying by each node's local "
         "derivative (the chain rule). A gradient is the sum, over every path from the output "
         "to the input, of the product of the local derivatives along it.",
    run=run,
)
