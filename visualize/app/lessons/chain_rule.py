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


def run(ctx: Context) -> None:
    """Forward, backward, explain, gradcheck, and draw the neuron."""
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
    try:
        graph = visualize.render(o, ctx.out / "graph.svg", partials=True, title=title)
        frames = visualize.render_backward(o, ctx.out / "backward", title=title)
    except visualize.GraphvizNotFoundError as e:
        visualize.render(o, ctx.out / "graph.dot", partials=True, title=title)
        ctx.add_file(ctx.out / "graph.dot", f"the graph as DOT text ({e})", "file")
        ctx.note("Graphviz is missing, so the graph is DOT text and there is no step-by-step "
                 "page; install Graphviz to see them.")
        return
    ctx.add_file(graph, "the graph after backward: every node's data and grad; each edge "
                 "carries the local derivative ∂ and the gradient it passes back", "svg")
    ctx.add_file(frames.html, f"the backward pass in {len(frames.frames)} steps, with a slider "
                 "(← → keys): each node passes grad × local derivative to its parents", "page")
    ctx.measure(backward_steps=len(frames.frames))
    ctx.note("Read the graph right to left: o's grad is 1; tanh multiplies it by 1 - o² = 0.5; "
             "a + passes it on unchanged; a * passes it times the other operand.")


LESSON = Lesson(
    name=NAME,
    title="The chain rule: the lecture's neuron, forward and backward",
    summary="forward values, backward gradients, every path's product (explain), a "
            "step-through page",
    idea="The forward pass computes the output from the inputs; the backward pass starts from "
         "d o/d o = 1 and moves back through the graph, multiplying by each node's local "
         "derivative (the chain rule). A gradient is the sum, over every path from the output "
         "to the input, of the product of the local derivatives along it.",
    run=run,
)
