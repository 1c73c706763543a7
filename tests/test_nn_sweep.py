"""nn.sweep: grid order, determinism, errors in rows, dead workers, Ctrl-C, and the backends.

The serial, processes, dask (a real ``dask.distributed.LocalCluster`` with two
worker processes, one per module) and ray (a local ``ray.init``, where Ray
imports) backends must return the same table, run for run.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import nn

ROOT = Path(__file__).resolve().parents[1]


# the run functions live at the top level so that worker processes can unpickle them


def train(point: dict[str, Any], seed: int) -> dict[str, Any]:
    """A small real training run: moons, an MLP, a few epochs of SGD."""
    X, y = nn.data.make_moons(40, noise=0.1, seed=0)
    model = nn.MLP(2, [*point["hidden"], 1], seed=seed)
    history = nn.fit(model, X, y, epochs=3, batch_size=8, optimizer="sgd", lr=point["lr"],
                     seed=seed, progress=False)
    return {"loss": history.loss[-1], "accuracy": history.accuracy[-1],
            "losses": list(history.loss)}


def arithmetic(point: dict[str, Any], seed: int) -> dict[str, Any]:
    return {"y": point.get("a", 0) * 100 + seed}


def fails_on_seed_1(point: dict[str, Any], seed: int) -> dict[str, Any]:
    if seed == 1:
        raise ZeroDivisionError("seed 1 divides by zero")
    return {"y": seed}


def dies_on_seed_2(point: dict[str, Any], seed: int) -> dict[str, Any]:
    if seed == 2:
        os._exit(7)
    return {"y": seed}


def dies_once(point: dict[str, Any], seed: int) -> dict[str, Any]:
    """Dies the first time it runs seed 1 (a marker file remembers), then succeeds."""
    marker = Path(point["marker"])
    if seed == 1 and not marker.exists():
        marker.write_text("died once")
        os._exit(9)
    return {"y": seed}


def interrupts_at_seed_3(point: dict[str, Any], seed: int) -> dict[str, Any]:
    if seed == 3:
        raise KeyboardInterrupt
    return {"y": seed}


def presses_ctrl_c_at_seed_4(point: dict[str, Any], seed: int) -> dict[str, Any]:
    """In a worker: send SIGINT to the sweeping process at seed 4, then keep running."""
    if seed == 4:
        os.kill(point["parent"], signal.SIGINT)
        time.sleep(30)  # the sweep ends this worker; it never returns
    return {"y": seed}


def returns_a_list(point: dict[str, Any], seed: int) -> Any:
    return [seed]


def returns_seed(point: dict[str, Any], seed: int) -> dict[str, Any]:
    return {"seed": seed}


TRAIN_GRID = {"lr": [0.01, 0.3], "hidden": [[4], [3, 3]]}


@pytest.fixture(scope="module")
def serial_table() -> nn.SweepResult:
    return nn.sweep(train, TRAIN_GRID, seeds=range(3), backend="serial", progress=False)


# ---------------------------------------------------------------------------
# the table


def test_dict_grid_is_the_product_in_order_with_seeds_innermost() -> None:
    table = nn.sweep(arithmetic, {"a": [2, 1], "b": ["x", "y"]}, seeds=[5, 0],
                     backend="serial", progress=False)
    assert [(r["a"], r["b"], r["seed"]) for r in table] == [
        (2, "x", 5), (2, "x", 0), (2, "y", 5), (2, "y", 0),
        (1, "x", 5), (1, "x", 0), (1, "y", 5), (1, "y", 0)]
    assert [r["y"] for r in table] == [205, 200, 205, 200, 105, 100, 105, 100]
    assert table.point_keys == ("a", "b")
    assert table.result_keys == ("y",)
    assert table.columns == ["a", "b", "seed", "y", "error"]
    assert all(r["error"] is None for r in table)
    assert (table.total, table.interrupted, table.errors) == (8, False, [])


def test_list_grid_keeps_its_points_and_an_empty_grid_sweeps_seeds_alone() -> None:
    table = nn.sweep(arithmetic, [{"a": 3}, {"a": 1, "b": 0}], seeds=[0],
                     backend="serial", progress=False)
    assert [(r["a"], r.get("b")) for r in table] == [(3, None), (1, 0)]
    assert table.point_keys == ("a", "b")
    seeds_only = nn.sweep(arithmetic, {}, seeds=range(4), backend="serial", progress=False)
    assert [(r["seed"], r["y"]) for r in seeds_only] == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_processes_equal_serial_run_for_run(serial_table: nn.SweepResult) -> None:
    table = nn.sweep(train, TRAIN_GRID, seeds=range(3), backend="processes", n_jobs=2,
                     progress=False)
    assert len(table) == 12
    assert table == serial_table
    assert table.result_keys == serial_table.result_keys == ("loss", "accuracy", "losses")
    # the seed matters: different seeds give different runs
    assert len({r["loss"] for r in table}) > len(table) // 2


def test_a_sweep_is_deterministic_for_given_seeds(serial_table: nn.SweepResult) -> None:
    again = nn.sweep(train, TRAIN_GRID, seeds=range(3), backend="serial", progress=False)
    assert again == serial_table


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_a_run_that_raises_is_reported_in_its_row_and_the_sweep_goes_on(backend: str) -> None:
    table = nn.sweep(fails_on_seed_1, {"a": [1, 2]}, seeds=range(3), backend=backend,
                     progress=False)
    assert [r["seed"] for r in table] == [0, 1, 2, 0, 1, 2]
    failed = [r for r in table if r["seed"] == 1]
    assert table.errors == failed
    assert all(r["error"] == "ZeroDivisionError: seed 1 divides by zero" for r in failed)
    assert all("y" not in r for r in failed)
    assert [r["y"] for r in table if r["error"] is None] == [0, 2, 0, 2]
    assert not table.interrupted


def test_a_result_that_is_not_a_dict_or_reuses_a_column_is_an_error_in_the_row() -> None:
    table = nn.sweep(returns_a_list, {}, seeds=[0], backend="serial", progress=False)
    assert "fn returned list, not a dict" in table[0]["error"]
    table = nn.sweep(returns_seed, {}, seeds=[0], backend="serial", progress=False)
    assert "'seed'" in table[0]["error"] and "rename the result" in table[0]["error"]


def test_a_worker_that_dies_is_retried_once_then_reported() -> None:
    table = nn.sweep(dies_on_seed_2, {"a": [1, 2]}, seeds=range(4), backend="processes",
                     n_jobs=2, progress=False)
    assert [r["seed"] for r in table] == [0, 1, 2, 3] * 2
    dead = [r for r in table if r["error"] is not None]
    assert [r["seed"] for r in dead] == [2, 2]
    assert all(r["error"].startswith("WorkerDied:") and "2 attempts" in r["error"]
               for r in dead)
    # the runs that shared the broken pool were rerun and are whole
    assert [r["y"] for r in table if r["error"] is None] == [0, 1, 3, 0, 1, 3]


def test_a_worker_that_dies_once_succeeds_on_its_retry(tmp_path: Path) -> None:
    point = {"marker": str(tmp_path / "died")}
    table = nn.sweep(dies_once, [point], seeds=range(3), backend="processes", n_jobs=2,
                     progress=False)
    assert (tmp_path / "died").exists()  # it did die once
    assert [(r["seed"], r["y"], r["error"]) for r in table] == [
        (0, 0, None), (1, 1, None), (2, 2, None)]
    again = nn.sweep(dies_once, [point], seeds=range(3), backend="processes", retries=0,
                     progress=False)
    assert again.errors == []  # the marker exists now: no death, no retry needed
    (tmp_path / "died").unlink()
    no_retry = nn.sweep(dies_once, [point], seeds=range(3), backend="processes", retries=0,
                        n_jobs=1, progress=False)
    assert [r["seed"] for r in no_retry.errors] == [1]
    assert "on its one attempt" in no_retry.errors[0]["error"]


def test_ctrl_c_in_serial_keeps_the_finished_rows() -> None:
    table = nn.sweep(interrupts_at_seed_3, {}, seeds=range(6), backend="serial",
                     progress=False)
    assert table.interrupted
    assert [(r["seed"], r["y"]) for r in table] == [(0, 0), (1, 1), (2, 2)]
    assert table.total == 6


def test_ctrl_c_in_processes_stops_the_workers_and_keeps_the_finished_rows() -> None:
    point = {"parent": os.getpid()}
    table = nn.sweep(presses_ctrl_c_at_seed_4, [point], seeds=range(12), backend="processes",
                     n_jobs=2, progress=False)
    assert table.interrupted
    seeds = [r["seed"] for r in table]
    # seed 4 started only after three of seeds 0..3 came back; seed 4 never finished
    assert len(seeds) >= 3 and 4 not in seeds and len(seeds) < 12
    assert seeds == sorted(seeds)
    assert all(r["y"] == r["seed"] and r["error"] is None for r in table)


# ---------------------------------------------------------------------------
# bad input is refused before anything runs


def test_a_lambda_is_refused_for_processes_with_the_fix() -> None:
    with pytest.raises(nn.SweepError, match="cannot be pickled") as info:
        nn.sweep(lambda point, seed: {}, {}, backend="processes", progress=False)
    assert "top level of a module" in str(info.value)
    assert "backend='serial'" in str(info.value)
    assert nn.sweep(lambda point, seed: {"s": seed}, {}, seeds=[4], backend="serial",
                    progress=False)[0]["s"] == 4


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"grid": [], "backend": "serial"}, "grid is an empty list"),
    ({"grid": {"a": []}, "backend": "serial"}, r"grid\['a'\] is empty"),
    ({"grid": {"a": 3}, "backend": "serial"}, r"grid\['a'\] must be a list"),
    ({"grid": {"seed": [1]}, "backend": "serial"}, "rename the setting"),
    ({"grid": [{"error": 1}], "backend": "serial"}, "rename the setting"),
    ({"grid": {}, "seeds": 10, "backend": "serial"}, "such as range"),
    ({"grid": {}, "seeds": [1, 1], "backend": "serial"}, "seed 1 is given twice"),
    ({"grid": {}, "seeds": [0.5], "backend": "serial"}, "must be integers"),
    ({"grid": {}, "backend": "threads"}, "unknown backend 'threads'"),
    ({"grid": {}, "backend": "serial", "n_jobs": 0}, "n_jobs must be a positive"),
    ({"grid": {}, "backend": "serial", "address": "tcp://x:1"}, "runs on this machine"),
])
def test_bad_input_is_refused_with_its_name(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(nn.SweepError, match=message):
        nn.sweep(arithmetic, progress=False, **kwargs)


@pytest.mark.parametrize(("backend", "module", "extra"), [
    ("dask", "distributed", "chainrule[dask]"), ("ray", "ray", "chainrule[ray]")])
def test_a_missing_distributed_backend_names_its_extra(
        monkeypatch: pytest.MonkeyPatch, backend: str, module: str, extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(ImportError, match=extra.replace("[", r"\[").replace("]", r"\]")):
        nn.sweep(arithmetic, {}, backend=backend, progress=False)


# ---------------------------------------------------------------------------
# exports


def test_to_csv_and_to_pandas_hold_every_row(tmp_path: Path) -> None:
    table = nn.sweep(fails_on_seed_1, {"a": [0.5]}, seeds=range(2), backend="serial",
                     progress=False)
    text = table.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == text
    assert text.splitlines() == ["a,seed,y,error", "0.5,0,0,",
                                 "0.5,1,,ZeroDivisionError: seed 1 divides by zero"]
    pandas = pytest.importorskip("pandas")
    frame = table.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["a", "seed", "y", "error"]
    assert frame["seed"].tolist() == [0, 1]


def test_to_pandas_without_pandas_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    table = nn.sweep(arithmetic, {}, backend="serial", progress=False)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        table.to_pandas()


# ---------------------------------------------------------------------------
# the distributed backends, on real local clusters (seconds to start: one per module)


@pytest.fixture(scope="module")
def dask_cluster() -> Any:
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")
    import dask

    # a task whose worker dies fails at once (dask's default retries it 3 times), so that
    # the dead-worker test below sees chainrule's own retry
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    yield cluster
    cluster.close()


@pytest.mark.cluster
def test_dask_equals_serial_run_for_run(dask_cluster: Any,
                                        serial_table: nn.SweepResult) -> None:
    from distributed import Client

    with Client(dask_cluster) as client:
        table = nn.sweep(train, TRAIN_GRID, seeds=range(3), backend="dask", client=client,
                         progress=False)
        assert len(client.scheduler_info()["workers"]) == 2
        # dask pickles with cloudpickle: a lambda is fine
        lam = nn.sweep(lambda point, seed: {"s": seed * 2}, {}, seeds=range(3),
                       backend="dask", client=client, progress=False)
    assert table == serial_table
    assert table.backend == "dask"
    assert [r["s"] for r in lam] == [0, 2, 4]


@pytest.mark.cluster
def test_dask_from_an_address_reports_errors_in_rows(dask_cluster: Any) -> None:
    table = nn.sweep(fails_on_seed_1, {"a": [1]}, seeds=range(3), backend="dask",
                     address=dask_cluster.scheduler_address, progress=False)
    assert [r["error"] for r in table] == [
        None, "ZeroDivisionError: seed 1 divides by zero", None]


@pytest.mark.cluster
def test_the_guides_dask_example_runs_at_a_schedulers_address(dask_cluster: Any) -> None:
    block = _guide_blocks()[1]
    assert block.count("tcp://HOST:8786") == 2
    ns = _guide_namespace()
    exec(_small(block).replace("tcp://HOST:8786", dask_cluster.scheduler_address), ns)
    ns["client"].close()
    assert [r["seed"] for r in ns["table"]] == [0, 1]
    assert ns["table"].backend == "dask" and ns["table"].errors == []


@pytest.mark.cluster
def test_dask_retries_a_dead_worker_once_then_reports_it(dask_cluster: Any) -> None:
    # last of the dask tests: the cluster's nannies restart the workers this kills
    table = nn.sweep(dies_on_seed_2, {"a": [1]}, seeds=range(4), backend="dask",
                     address=dask_cluster.scheduler_address, progress=False)
    assert [r["seed"] for r in table] == [0, 1, 2, 3]
    assert [r.get("y") for r in table] == [0, 1, None, 3]
    assert table[2]["error"].startswith("WorkerDied: the dask worker")
    assert "2 attempts" in table[2]["error"] and "KilledWorker" in table[2]["error"]


@pytest.fixture(scope="module")
def ray_local() -> Any:
    try:
        import ray
    except ImportError as e:
        pytest.skip(f"ray does not import here ({e}); pip install 'chainrule[ray]'")
    # Ray's workers import this checkout's nn and tests (not an installed copy)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield ray
    ray.shutdown()


@pytest.mark.cluster
def test_ray_equals_serial_run_for_run(ray_local: Any, serial_table: nn.SweepResult) -> None:
    table = nn.sweep(train, TRAIN_GRID, seeds=range(3), backend="ray", progress=False)
    assert table == serial_table
    errors = nn.sweep(fails_on_seed_1, {"a": [1]}, seeds=range(3), backend="ray",
                      progress=False)
    assert [r["error"] for r in errors] == [
        None, "ZeroDivisionError: seed 1 divides by zero", None]
    dead = nn.sweep(dies_on_seed_2, {"a": [1]}, seeds=range(4), backend="ray", progress=False)
    assert [r.get("y") for r in dead] == [0, 1, None, 3]
    assert dead[2]["error"].startswith("WorkerDied: the ray worker")
    assert ray_local.is_initialized()  # a cluster the user started stays up


@pytest.mark.cluster
def test_the_guides_ray_example_runs_on_the_joined_cluster(ray_local: Any) -> None:
    block = _guide_blocks()[2]
    assert 'address="auto"' in block
    ns = _guide_namespace()
    exec(_small(block), ns)  # Ray is initialised: the sweep runs there
    assert [r["seed"] for r in ns["table"]] == [0, 1]
    assert ns["table"].backend == "ray" and ns["table"].errors == []


# ---------------------------------------------------------------------------
# the user's guide


def _guide_blocks() -> list[str]:
    import re

    text = (ROOT / "docs" / "sweeps.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _guide_namespace() -> dict[str, Any]:
    """The guide's first example, defined but not run (its ``train`` and a small grid)."""
    ns: dict[str, Any] = {"__name__": "guide"}
    exec(_guide_blocks()[0].replace("epochs=10", "epochs=2"), ns)
    ns["grid"] = {"lr": [0.01], "hidden": [[4]]}
    return ns


def _small(block: str) -> str:
    return block.replace("range(100)", "range(2)")


def test_the_guides_example_runs_as_a_script_and_prints_what_it_says(tmp_path: Path) -> None:
    import subprocess

    block = _guide_blocks()[0]
    (tmp_path / "sweep_lr.py").write_text(block)
    done = subprocess.run([sys.executable, "sweep_lr.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    said = [line.split("# ", 1)[1] for line in block.splitlines()
            if line.strip().startswith("print(table") and "# " in line]
    out = done.stdout.splitlines()
    assert out[:2] == said
    assert "30/30" in done.stderr  # the progress bar
    # the mean and spread of each learning rate's ten runs
    assert [line.split()[0] for line in out[-3:]] == ["0.001", "0.010", "0.100"]
    assert len((tmp_path / "sweep_lr.csv").read_text().splitlines()) == 31
