"""The live playground's speed: updates per second with every view redrawn, in headless Chromium.

``python -m benchmarks.playground`` serves the playground (a real uvicorn
server on 127.0.0.1) with MLP 2 -> [8, 8] -> 1 (tanh, SGD, batch 10) on 200
training points, opens it in headless Chromium (``tests/browser.py``), presses
play and counts, over each measuring window, the frames the page drew: each
is one training epoch on the engine plus the output map, all 17 neuron maps,
every edge, the points and the loss curves. An update waits for the page to
draw the previous one, so the figure is the whole loop's rate. Rounds
alternate the batched engine (``autograd.compile(..., batch=True)``) and the
dynamic one, in the same process; the result is printed with their ratio.
The issue's goal: at least 20 updates per second on the batched engine.
Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser import Browser  # noqa: E402
from tests.playground_server import running  # noqa: E402
from visualize.app.playground.session import Session  # noqa: E402
from visualize.app.playground.state import PlaygroundState  # noqa: E402

STATE = {"dataset": "circles", "n_points": 400, "train_ratio": 0.5, "features": ["x1", "x2"],
         "hidden": [8, 8], "activation": "tanh", "optimizer": "sgd", "lr": 0.03,
         "batch_size": 10}


def measure(browser: Browser, use_numpy: bool, seconds: float) -> float:
    """Updates per second drawn by the page over ``seconds`` of training."""
    session = Session(PlaygroundState.from_dict(STATE), use_numpy=use_numpy)
    with running(session) as (base, _):
        browser.open(f"http://{base}/")
        _wait(browser, "app.S && app.framesDrawn > 0")
        browser.click(".crpg-play")
        _wait(browser, "app.F && app.F.epoch >= 3")  # warmed up
        start = browser.js("const a = window.chainrulePlayground; "
                           "return [a.framesDrawn, a.F.epoch, performance.now()];")
        time.sleep(seconds)
        end = browser.js("const a = window.chainrulePlayground; "
                         "return [a.framesDrawn, a.F.epoch, performance.now()];")
        browser.click(".crpg-play")
        errors = browser.errors()
        browser.open("about:blank")  # leave before the server stops (no reconnect attempts)
    if errors:
        raise RuntimeError("JavaScript errors: " + "; ".join(errors))
    frames, epochs = end[0] - start[0], end[1] - start[1]
    if epochs < frames - 1:
        raise RuntimeError(f"{frames} frames drawn but {epochs} epochs trained")
    return frames / ((end[2] - start[2]) / 1000)


def _wait(b: Browser, cond: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not b.js(f"const app = window.chainrulePlayground; return !!(app && ({cond}));"):
        if time.monotonic() > deadline:
            raise TimeoutError(cond)
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> None:
    """Run interleaved rounds and print updates per second (JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rates: dict[str, list[float]] = {"batched": [], "dynamic": []}
    with Browser(1300, 1000) as b:
        for _ in range(args.rounds):
            for name in rates:
                rates[name].append(measure(b, name == "batched", args.seconds))
    med = {k: statistics.median(v) for k, v in rates.items()}
    result = {"workload": "MLP 2 -> [8, 8] -> 1, 200 training points, batch 10, every view "
                          "redrawn, headless Chromium",
              "updates_per_second": med, "rounds": rates,
              "batched_over_dynamic": med["batched"] / med["dynamic"]}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(result["workload"])
    for k, v in rates.items():
        print(f"  {k:8s} {med[k]:6.1f} updates/s  (rounds: {', '.join(f'{x:.1f}' for x in v)})")
    print(f"  batched / dynamic: {result['batched_over_dynamic']:.2f}x; goal >= 20 updates/s "
          f"batched: {'met' if med['batched'] >= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
