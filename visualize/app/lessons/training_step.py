"""Lesson ``training-step``: one full step of training, by hand, then by ``nn.fit``.

A network ``MLP(2, [2, 1])`` (tanh hidden layer, linear output), one sample
``x = (1, -2)`` with target ``y = 1``, the squared error, plain SGD with rate
0.1. The lesson does the step in plain floats: the forward values, the loss,
each of the nine gradients by the chain rule (written out), the update
``w -= lr * grad``; draws the same computation as a graph with every value and
gradient; and then lets ``nn.fit`` take the same step on the same network. The
two sets of new weights are compared digit for digit.
"""

from __future__ import annotations

import math
from typing import Any

import nn
from autograd import Value
from visualize.app.lessons._base import Context, Lesson, write_text

NAME = "training-step"
X = (1.0, -2.0)
Y = 1.0
LR = 0.1
NAMES = ("w11", "w12", "b1", "w21", "w22", "b2", "v1", "v2", "c")  # model.parameters() order


def start_model(seed: int) -> nn.MLP:
    """The network before the step (seeded initial weights)."""
    return nn.MLP(2, [2, 1], activation="tanh", seed=seed)


def by_hand(p: list[float]) -> dict[str, Any]:
    """The forward pass, the loss, the chain rule and the update, in plain floats.

    Args:
        p: the nine parameters in :data:`NAMES` order.

    Returns:
        ``{"z", "h", "o", "loss", "grads" (name -> float), "lines" (the chain rule written
        out), "after" (the new parameters)}``.
    """
    w11, w12, b1, w21, w22, b2, v1, v2, c = p
    x1, x2 = X
    z = [w11 * x1 + w12 * x2 + b1, w21 * x1 + w22 * x2 + b2]
    h = [math.tanh(z[0]), math.tanh(z[1])]
    o = v1 * h[0] + v2 * h[1] + c
    loss = (o - Y) ** 2
    do = 2 * (o - Y)                                       # dL/do
    dh = [do * v1, do * v2]                                # dL/dh_j = dL/do · v_j
    dz = [dh[0] * (1 - h[0] ** 2), dh[1] * (1 - h[1] ** 2)]  # · tanh'(z_j) = 1 - h_j²
    grads = {"w11": dz[0] * x1, "w12": dz[0] * x2, "b1": dz[0],
             "w21": dz[1] * x1, "w22": dz[1] * x2, "b2": dz[1],
             "v1": do * h[0], "v2": do * h[1], "c": do}
    lines = [f"dL/do   = 2 (o - y) = 2 ({o:.6f} - {Y:g}) = {do:.6f}"]
    for j in (0, 1):
        k = j + 1
        lines += [f"dL/dv{k}  = dL/do · h{k} = {do:.6f} · {h[j]:.6f} = {grads[f'v{k}']:.6f}",
                  f"dL/dh{k}  = dL/do · v{k} = {do:.6f} · {p[6 + j]:.6f} = {dh[j]:.6f}",
                  f"dL/dz{k}  = dL/dh{k} · (1 - h{k}²) = {dh[j]:.6f} · {1 - h[j] ** 2:.6f} = "
                  f"{dz[j]:.6f}",
                  f"dL/dw{k}1 = dL/dz{k} · x1 = {grads[f'w{k}1']:.6f}, dL/dw{k}2 = dL/dz{k} · x2 "
                  f"= {grads[f'w{k}2']:.6f}, dL/db{k} = dL/dz{k} = {grads[f'b{k}']:.6f}"]
    lines.append(f"dL/dc   = dL/do = {do:.6f}")
    after = [v - LR * grads[n] for v, n in zip(p, NAMES)]
    return {"z": z, "h": h, "o": o, "loss": loss, "grads": grads, "lines": lines,
            "after": after}


def graph(p: list[float]) -> Value:
    """The same forward pass as Values, one op per node, labelled; backward done."""
    w11, w12, b1, w21, w22, b2, v1, v2, c = (Value(v, label=n) for v, n in zip(p, NAMES))
    x1, x2 = Value(X[0], label="x1"), Value(X[1], label="x2")
    hs = []
    for k, (wa, wb, b) in enumerate(((w11, w12, b1), (w21, w22, b2)), start=1):
        z = wa * x1 + wb * x2 + b
        z.label = f"z{k}"
        h = z.tanh()
        h.label = f"h{k}"
        hs.append(h)
    o = v1 * hs[0] + v2 * hs[1] + c
    o.label = "o"
    loss = (o - Y) ** 2
    loss.label = "L"
    loss.backward()
    return loss


def run(ctx: Context) -> None:
    """One step by hand, drawn, then by nn.fit; compare."""
    model = start_model(ctx.seed)
    before = [q.data for q in model.parameters()]
    hand = by_hand(before)
    ctx.echo(f"  forward: z = ({hand['z'][0]:.6f}, {hand['z'][1]:.6f}), h = tanh(z) = "
             f"({hand['h'][0]:.6f}, {hand['h'][1]:.6f}), o = {hand['o']:.6f}, "
             f"L = (o - y)² = {hand['loss']:.6f}")
    for line in hand["lines"]:
        ctx.echo(f"  {line}")
    h = nn.fit(model, [list(X)], [Y], epochs=1, batch_size=1, optimizer="sgd", lr=LR,
               loss="mse", shuffle=False, progress=False, seed=ctx.seed, compile=False)
    after_fit = [q.data for q in model.parameters()]
    diff = max(abs(a - b) for a, b in zip(hand["after"], after_fit))
    equal = sum(a == b for a, b in zip(hand["after"], after_fit))
    loss = graph(before)
    leaves = {n: v for n, v in _leaves(loss).items() if n in NAMES}
    engine = {n: leaves[n].grad for n in NAMES}
    ctx.measure(before=before, hand_grads=hand["grads"], engine_grads=engine,
                hand_after=hand["after"], fit_after=after_fit, fit_loss=h.loss[0],
                hand_loss=hand["loss"], max_difference=diff, equal_digits=equal,
                forward={"z": hand["z"], "h": hand["h"], "o": hand["o"]})
    ctx.claim(f"forward: o = {hand['o']:.6f} for target {Y:g}, loss L = (o - y)² = "
              f"{hand['loss']:.6f}; nn.fit's step measured the same loss, {h.loss[0]:.6f}")
    ctx.claim(f"backward by the chain rule, by hand: dL/dc = dL/do = {hand['grads']['c']:.6f}, "
              + ", ".join(f"dL/d{n} = {hand['grads'][n]:.6f}" for n in NAMES[:-1])
              + "; the engine's backward pass on the drawn graph gives the same nine "
              f"(largest difference {max(abs(hand['grads'][n] - engine[n]) for n in NAMES):.1e})")
    ctx.claim(f"update w -= {LR:g} · grad by hand, then the same step by nn.fit(epochs=1, "
              f"batch_size=1, optimizer='sgd', lr={LR:g}): {equal} of the 9 new weights are "
              f"equal to the last digit (largest difference {diff:.1e})")
    table = ["parameter   before       grad         after (hand)   after (nn.fit)"]
    table += [f"{n:<10}  {b:+.9f}  {hand['grads'][n]:+.9f}  {a:+.12f}  {f:+.12f}"
              for n, b, a, f in zip(NAMES, before, hand["after"], after_fit)]
    write_text(ctx.out / "step.txt", "\n".join(
        ["forward:", f"  z = {hand['z']}", f"  h = {hand['h']}", f"  o = {hand['o']!r}",
         f"  L = {hand['loss']!r}", "", "backward (chain rule):",
         *(f"  {ln}" for ln in hand["lines"]), "", "update:", *table]) + "\n")
    ctx.add_file(ctx.out / "step.txt", "the whole step in numbers: forward, chain rule, and "
                 "the update by hand beside nn.fit's", "file")
    title = "one training step: L = (v1·tanh(z1) + v2·tanh(z2) + c - y)²"
    drawn = ctx.draw_backward(loss, title)
    if isinstance(drawn, str):
        ctx.note(f"Graphviz is missing ({drawn}); install it to see the graph.")
        return
    pic, frames = drawn
    ctx.add_file(pic, "the step's graph: every node's value and gradient (red > 0, blue < 0); "
                 "each edge carries its local derivative", "svg")
    ctx.add_file(frames.html, f"the backward pass in {len(frames.frames)} steps", "page")


def _leaves(root: Value) -> dict[str, Value]:
    seen: dict[str, Value] = {}
    stack = [root]
    while stack:
        v = stack.pop()
        if not v.parents and v.label:
            seen[v.label] = v
        stack.extend(v.parents)
    return seen


LESSON = Lesson(
    name=NAME,
    title="One training step, by hand and by nn.fit",
    summary="forward values, the loss, all nine gradients by the chain rule, the update; then "
            "nn.fit's same step, compared digit for digit",
    idea="Training repeats one step: run the network forward to get its output and the loss, "
         "run the chain rule backward to get the loss's gradient with respect to every weight, "
         "and move each weight a little against its gradient, w -= lr · grad. Here that step "
         "is done once by hand, with every number shown, and once by the library.",
    run=run,
)
