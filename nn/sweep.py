"""Sweeps: run one function over a grid of settings and seeds, here or on a cluster.

``nn.sweep(fn, grid, seeds=range(10))`` calls ``fn(point, seed)`` once for
every point of the grid and every seed and returns a :class:`SweepResult`:
a list with one row (a dict) per run, in grid order (points in order, seeds
in order within each point), whichever backend ran it and in whatever order
the runs finished. A row holds the point's settings, the ``seed``, the
results ``fn`` returned and ``error`` (None, or the run's error as text)::

    def train(point, seed):
        X, y = nn.data.make_moons(200, noise=0.1, seed=0)
        model = nn.MLP(2, [*point["hidden"], 1], seed=seed)
        history = nn.fit(model, X, y, lr=point["lr"], epochs=30, seed=seed, progress=False)
        return {"loss": history.loss[-1], "accuracy": history.accuracy[-1]}

    table = nn.sweep(train, {"lr": [0.001, 0.01, 0.1], "hidden": [[8, 8]]}, seeds=range(10))
    table.to_pandas().groupby("lr")["accuracy"].mean()

Backends (``backend=``):

* ``"serial"``: in this process, one run after another;
* ``"processes"`` (the default): worker processes on this machine's cores
  (:class:`concurrent.futures.ProcessPoolExecutor`); ``fn`` must be
  picklable (a function defined with ``def`` at the top level of a module);
* ``"dask"``: a ``dask.distributed`` cluster: ``client=`` a ``Client``, or
  ``address=`` a scheduler's address, or neither for a ``LocalCluster`` on
  this machine (the ``dask`` extra: ``pip install 'chainrule[dask]'``);
* ``"ray"``: a Ray cluster: the one ``ray.init`` already joined, or
  ``address=`` (``"auto"``, ``"ray://host:10001"``), or a local one (the
  ``ray`` extra).

Runs are deterministic for given seeds when ``fn`` draws its randomness from
the seed it is given, so every backend returns the same table. A run that
raises is reported in its row (``error``) and the sweep goes on; a worker
process that dies (a crash, ``os._exit``, out of memory) is retried once,
alone, and then reported in its row; Ctrl-C stops the sweep and returns the
rows finished so far, with :attr:`SweepResult.interrupted` set.
"""

from __future__ import annotations

import csv
import importlib
import io
import itertools
import json
import os
import pickle
import signal
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Union

__all__ = ["BACKENDS", "SweepError", "SweepResult", "sweep"]

#: the backends :func:`sweep` accepts
BACKENDS: tuple[str, ...] = ("serial", "processes", "dask", "ray")

#: the row keys the sweep itself writes (grid keys and results may not use them)
RESERVED = ("seed", "error")

Grid = Union[Mapping[str, Iterable[Any]], Sequence[Mapping[str, Any]]]
RunFn = Callable[[dict[str, Any], int], Mapping[str, Any]]
#: what a worker sends back: ("ok", results) or ("error", text)
Outcome = tuple[str, Any]

_EXTRAS = {"dask": ("distributed", "dask", "dask[distributed]"), "ray": ("ray", "ray", "ray")}


class SweepError(ValueError):
    """A sweep that cannot start: a bad grid, seeds, backend or an unpicklable ``fn``."""


class SweepResult(list[dict[str, Any]]):
    """The table of a sweep: one dict per run, in grid order.

    A plain list of rows (``row["lr"]``, ``row["seed"]``, ``row["accuracy"]``,
    ``row["error"]``); a run that failed has ``error`` set and no results.

    Attributes:
        point_keys: the grid's setting names, in order.
        result_keys: the result names ``fn`` returned, in first-seen order.
        total: the runs the sweep was asked for (``len(self)`` is smaller when
            it was interrupted).
        interrupted: True when Ctrl-C stopped the sweep before every run ended.
        backend: the backend that ran it.
        seconds: wall time of the sweep.
    """

    def __init__(self, rows: Iterable[dict[str, Any]] = (), *,
                 point_keys: Sequence[str] = (), result_keys: Sequence[str] = (),
                 total: int = 0, interrupted: bool = False, backend: str = "serial",
                 seconds: float = 0.0) -> None:
        super().__init__(rows)
        self.point_keys = tuple(point_keys)
        self.result_keys = tuple(result_keys)
        self.total = total
        self.interrupted = interrupted
        self.backend = backend
        self.seconds = seconds

    @property
    def columns(self) -> list[str]:
        """The table's columns: the settings, ``seed``, the results, ``error``."""
        return [*self.point_keys, "seed", *self.result_keys, "error"]

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The rows of the runs that failed."""
        return [row for row in self if row["error"] is not None]

    def to_pandas(self) -> Any:
        """Return the table as a ``pandas.DataFrame`` (one row per run, :attr:`columns`).

        Raises:
            ImportError: if pandas is not installed (``pip install pandas``).
        """
        try:
            pandas = importlib.import_module("pandas")
        except ImportError as e:
            raise ImportError("SweepResult.to_pandas: pandas is not installed; "
                              "pip install pandas (the rows are plain dicts without it)") from e
        return pandas.DataFrame([[row.get(c) for c in self.columns] for row in self],
                                columns=self.columns)

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """Return the table as CSV text; with ``path``, also write it there (atomically).

        Numbers are written exactly (``repr``), lists and dicts (histories) as
        JSON, a missing result as an empty field.

        Raises:
            OSError: if ``path`` cannot be written.
        """
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self:
            writer.writerow([_csv_field(row.get(c)) for c in self.columns])
        text = buf.getvalue()
        if path is not None:
            from chainrule.outputs import write_file

            write_file(path, text.encode("utf-8"), "SweepResult.to_csv")
        return text

    def __repr__(self) -> str:
        state = ", interrupted" if self.interrupted else ""
        return (f"SweepResult({len(self)} of {self.total} runs, {len(self.errors)} failed, "
                f"backend={self.backend!r}{state})")


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


# ---------------------------------------------------------------------------
# the grid and the runs


def grid_points(grid: Grid) -> list[dict[str, Any]]:
    """Return the points of ``grid`` in order.

    Args:
        grid: a dict of lists (every combination, the last key varying
            fastest, as ``itertools.product``; ``{}`` is one empty point) or a
            list of dicts (the points themselves).

    Raises:
        SweepError: naming the bad key or entry.
    """
    if isinstance(grid, Mapping):
        names = list(grid)
        values = []
        for name in names:
            _check_key(name, "grid")
            options = grid[name]
            if isinstance(options, (str, bytes, Mapping)) or not isinstance(options, Iterable):
                raise SweepError(f"sweep: grid[{name!r}] must be a list of the values to try, "
                                 f"got {type(options).__name__}; write {name!r}: [value, ...]")
            options = list(options)
            if not options:
                raise SweepError(f"sweep: grid[{name!r}] is empty; give at least one value")
            values.append(options)
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]
    if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence):
        raise SweepError(f"sweep: grid must be a dict of lists or a list of dicts, got "
                         f"{type(grid).__name__}")
    if not grid:
        raise SweepError("sweep: grid is an empty list; give at least one point (or {} for "
                         "a sweep over seeds alone)")
    points = []
    for i, point in enumerate(grid):
        if not isinstance(point, Mapping):
            raise SweepError(f"sweep: grid[{i}] must be a dict of settings, got "
                             f"{type(point).__name__}")
        for name in point:
            _check_key(name, f"grid[{i}]")
        points.append(dict(point))
    return points


def _check_key(name: Any, where: str) -> None:
    if not isinstance(name, str):
        raise SweepError(f"sweep: {where} has the key {name!r}; setting names must be strings")
    if name in RESERVED:
        raise SweepError(f"sweep: {where} has the key {name!r}, which every row uses for the "
                         f"run's own {name}; rename the setting")


def _seed_list(seeds: Iterable[int]) -> list[int]:
    if isinstance(seeds, (int, str, bytes)) or not isinstance(seeds, Iterable):
        raise SweepError(f"sweep: seeds must be a list of integers such as range(10), got "
                         f"{seeds!r}")
    out = list(seeds)
    for s in out:
        if isinstance(s, bool) or not isinstance(s, int):
            raise SweepError(f"sweep: seeds must be integers, got {s!r}")
    if not out:
        raise SweepError("sweep: seeds is empty; give at least one seed")
    if len(set(out)) < len(out):
        twice = next(s for s in out if out.count(s) > 1)
        raise SweepError(f"sweep: seed {twice} is given twice; each seed runs once per point")
    return out


def _call(fn: RunFn, point: dict[str, Any], seed: int) -> Outcome:
    """Run ``fn(point, seed)`` in a worker: its results, or its error as text."""
    try:
        results = fn(dict(point), seed)
    except (Exception, SystemExit) as e:  # the row reports any error
        return "error", f"{type(e).__name__}: {e}"
    if not isinstance(results, Mapping):
        return "error", (f"TypeError: fn returned {type(results).__name__}, not a dict of "
                         "results; return e.g. {'accuracy': 0.9}")
    return "ok", dict(results)


def _row(point: dict[str, Any], seed: int, outcome: Outcome) -> dict[str, Any]:
    row: dict[str, Any] = {**point, "seed": seed}
    status, value = outcome
    if status == "error":
        row["error"] = value
        return row
    clash = [k for k in value if k in row or k == "error"]
    if clash:
        row["error"] = (f"KeyError: fn's result {clash[0]!r} is also a setting or a column of "
                        "the row (seed, error); rename the result")
        return row
    row.update(value)
    row["error"] = None
    return row


def _died(backend: str, attempts: int, detail: str = "") -> Outcome:
    why = f" ({detail})" if detail else ""
    tries = f"on each of its {attempts} attempts" if attempts > 1 else "on its one attempt"
    return "error", (f"WorkerDied: the {backend} worker running this run died {tries}{why}; "
                     "it may have called os._exit, crashed in C code or run out of memory")


# ---------------------------------------------------------------------------
# backends: each runs the runs [(point, seed)], calling record(i, outcome) as
# they finish; KeyboardInterrupt propagates to sweep(), which keeps the rows


Record = Callable[[int, Outcome], None]
Runs = list[tuple[dict[str, Any], int]]


def _run_serial(fn: RunFn, runs: Runs, record: Record, **_: Any) -> None:
    for i, (point, seed) in enumerate(runs):
        record(i, _call(fn, point, seed))


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (it stops the sweep)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check_picklable(fn: RunFn, runs: Runs) -> None:
    name = getattr(fn, "__qualname__", type(fn).__name__)
    try:
        pickle.dumps(fn)
    except Exception as e:  # pickle raises several types
        raise SweepError(
            f"sweep: fn {name!r} cannot be pickled ({type(e).__name__}: {e}), and the "
            "'processes' backend must pickle it to send it to its worker processes; define it "
            "with def at the top level of a module (not a lambda or a function inside a "
            "function), or use backend='serial' (or 'dask'/'ray', which pickle lambdas)"
        ) from None
    for point, _seed in runs:
        try:
            pickle.dumps(point)
        except Exception as e:
            raise SweepError(f"sweep: the grid point {point!r} cannot be pickled ({e}); use "
                             "plain values (numbers, strings, lists) as settings") from None


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what waits, end the workers mid-run."""
    if hasattr(pool, "terminate_workers"):  # Python 3.14
        pool.terminate_workers()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.terminate()


def _run_processes(fn: RunFn, runs: Runs, record: Record, *, n_jobs: int, retries: int,
                   **_: Any) -> None:
    """Local worker processes, at most ``n_jobs`` runs in flight.

    When a worker dies the pool breaks and every run in flight is suspect:
    each is charged one attempt and retried alone in a fresh pool, so that a
    second death is surely its own.
    """
    todo = deque(range(len(runs)))
    suspects: deque[int] = deque()
    attempts = [0] * len(runs)
    inflight: dict[Future[Outcome], int] = {}
    pool: ProcessPoolExecutor | None = None
    try:
        while todo or suspects or inflight:
            if pool is None:
                pool = ProcessPoolExecutor(max_workers=n_jobs, initializer=_ignore_sigint)
            solo = bool(suspects) or any(attempts[i] for i in inflight.values())
            limit = 1 if solo else n_jobs
            while len(inflight) < limit and (suspects or todo):
                i = suspects.popleft() if suspects else todo.popleft()
                inflight[pool.submit(_call, fn, *runs[i])] = i
                if attempts[i]:
                    break  # a suspect runs alone
            finished, _running = wait(list(inflight), return_when=FIRST_COMPLETED)
            broken = False
            for future in finished:
                i = inflight.pop(future)
                try:
                    record(i, future.result())
                except BrokenProcessPool:
                    broken = True
                    inflight[future] = i
                except Exception as e:  # e.g. an unpicklable result
                    record(i, ("error", f"{type(e).__name__}: {e} (the result could not be "
                                        "sent back from the worker; return plain numbers, "
                                        "strings and lists)"))
            if broken:  # the pool is dead, and with it every run in flight
                pool.shutdown(wait=True)
                pool = None
                for i in sorted(inflight.values()):
                    attempts[i] += 1
                    if attempts[i] > retries:
                        record(i, _died("processes", attempts[i]))
                    else:
                        suspects.append(i)
                inflight.clear()
    except BaseException:
        if pool is not None:
            _terminate(pool)
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def _import(backend: str) -> Any:
    module, dist, extra = _EXTRAS[backend]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"sweep: backend={backend!r} needs {dist}, which is not installed; install the "
            f"{backend} extra: pip install 'chainrule[{backend}]' (or pip install "
            f"'{extra}'), or use backend='processes' on this machine"
        ) from e


def _run_dask(fn: RunFn, runs: Runs, record: Record, *, n_jobs: int, retries: int,
              client: Any = None, address: str | None = None, **_: Any) -> None:
    """A dask.distributed cluster: the given client, one at ``address``, or a LocalCluster.

    A run whose worker died (dask's ``KilledWorker``, after the cluster's own
    ``allowed-failures``) is retried, one such run at a time.
    """
    distributed = _import("dask")
    own: list[Any] = []  # what this sweep started, closed at the end
    if client is None:
        if address is None:
            cluster = distributed.LocalCluster(n_workers=n_jobs, threads_per_worker=1,
                                               processes=True, dashboard_address=None)
            own.append(cluster)
            address = cluster
        client = distributed.Client(address)
        own.insert(0, client)
    tag = uuid.uuid4().hex[:8]
    futures: dict[Any, int] = {}
    attempts = [0] * len(runs)

    def submit(i: int) -> Any:
        future = client.submit(_call, fn, *runs[i], key=f"chainrule-sweep-{tag}-{i}-"
                               f"{attempts[i]}", pure=False)
        futures[future] = i
        return future

    suspects: deque[int] = deque()  # runs whose worker died, retried one at a time
    retrying: list[int] = []
    try:
        pending = distributed.as_completed([submit(i) for i in range(len(runs))])
        for future in pending:
            i = futures.pop(future)
            try:
                outcome = future.result()
                future.release()  # the cluster may forget it
                record(i, outcome)
            except Exception as e:  # KilledWorker, a lost connection...
                attempts[i] += 1
                if attempts[i] > retries:
                    record(i, _died("dask", attempts[i], f"{type(e).__name__}: {e}"))
                else:
                    suspects.append(i)
            if i in retrying:
                retrying.remove(i)
            if suspects and not retrying:  # alone, a second death is surely its own
                retrying.append(suspects.popleft())
                pending.add(submit(retrying[0]))
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        for thing in own:
            thing.close()


def _run_ray(fn: RunFn, runs: Runs, record: Record, *, n_jobs: int, retries: int,
             address: str | None = None, **_: Any) -> None:
    """Ray: the cluster already joined, the one at ``address``, or a local one."""
    ray = _import("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else n_jobs,
                 include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(_call).options(max_retries=retries, retry_exceptions=False,
                                           num_cpus=1)
        fn_ref = ray.put(fn)
        refs = {remote.remote(fn_ref, *run): i for i, run in enumerate(runs)}
        waiting = list(refs)
        try:
            while waiting:
                ready, waiting = ray.wait(waiting, num_returns=1)
                for ref in ready:
                    try:
                        record(refs[ref], ray.get(ref))
                    except Exception as e:  # WorkerCrashedError and kin
                        record(refs[ref], _died("ray", retries + 1, type(e).__name__))
        except BaseException:
            for ref in waiting:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()


_BACKENDS: dict[str, Callable[..., None]] = {
    "serial": _run_serial, "processes": _run_processes, "dask": _run_dask, "ray": _run_ray,
}


def sweep(
    fn: RunFn,
    grid: Grid,
    *,
    seeds: Iterable[int] = (0,),
    backend: str = "processes",
    n_jobs: int | None = None,
    progress: bool = True,
    client: Any = None,
    address: str | None = None,
    retries: int = 1,
) -> SweepResult:
    """Run ``fn(point, seed)`` for every point of ``grid`` and every seed; return the table.

    Args:
        fn: takes a point (a dict of settings) and a seed (an int) and returns
            a dict of results (numbers, lists such as a loss history, strings
            such as a saved model's path). It should draw all its randomness
            from the seed. For ``"processes"`` it must be picklable.
        grid: a dict of lists (every combination, as ``itertools.product``;
            ``{}`` sweeps seeds alone) or a list of dicts (the points).
        seeds: the seeds every point runs with, e.g. ``range(10)``.
        backend: ``"serial"``, ``"processes"``, ``"dask"`` or ``"ray"`` (see
            the module's docstring).
        n_jobs: worker processes for ``"processes"`` and for the local
            clusters ``"dask"`` and ``"ray"`` start (default: every core).
        progress: show a tqdm bar over the runs.
        client: ``"dask"`` only: a ``dask.distributed.Client`` to run on (left open).
        address: ``"dask"``: a scheduler address (``"tcp://host:8786"``);
            ``"ray"``: a cluster address (``"auto"``, ``"ray://host:10001"``),
            used when Ray is not initialised yet.
        retries: how many times a run whose worker died is run again before
            its row reports it (a run that raises is not retried).

    Returns:
        A :class:`SweepResult`: one row per run in grid order, with
        ``interrupted`` set if Ctrl-C stopped it (the finished rows are kept).

    Raises:
        SweepError: a bad grid, seeds, backend or option, or an unpicklable
            ``fn`` for ``"processes"``; nothing has run.
        ImportError: ``"dask"`` or ``"ray"`` is not installed (names the extra).
    """
    _check_options(fn, backend, n_jobs, retries, client, address)
    points = grid_points(grid)
    runs = [(point, seed) for point in points for seed in _seed_list(seeds)]
    point_keys = list(dict.fromkeys(k for p in points for k in p))
    jobs = max(1, min(n_jobs or _cores(), len(runs)))
    if backend == "processes":
        _check_picklable(fn, runs)
    return _run_all(fn, runs, point_keys, backend, progress, n_jobs=jobs, retries=retries,
                    client=client, address=address)


def _check_options(fn: RunFn, backend: str, n_jobs: int | None, retries: int, client: Any,
                   address: str | None) -> None:
    """Refuse an unknown backend, a non-function, a bad ``n_jobs``/``retries``, a misplaced option.

    Raises:
        SweepError: naming the option and what it takes.
    """
    if backend not in BACKENDS:
        raise SweepError(f"sweep: unknown backend {backend!r}; choose one of "
                         f"{', '.join(BACKENDS)}")
    if not callable(fn):
        raise SweepError(f"sweep: fn must be a function fn(point, seed) -> dict, got "
                         f"{type(fn).__name__}")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)
                               or n_jobs < 1):
        raise SweepError(f"sweep: n_jobs must be a positive integer or None, got {n_jobs!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise SweepError(f"sweep: retries must be an integer >= 0, got {retries!r}")
    if client is not None and backend != "dask":
        raise SweepError(f"sweep: client= is a dask Client, for backend='dask', not {backend!r}")
    if address is not None and backend not in ("dask", "ray"):
        raise SweepError(f"sweep: address= names a dask or ray cluster; backend {backend!r} "
                         "runs on this machine")


def _run_all(fn: RunFn, runs: Runs, point_keys: list[str], backend: str, progress: bool,
             **options: Any) -> SweepResult:
    """Run every ``(point, seed)`` on the backend with a progress bar; collect the rows.

    ``options`` go to the backend's runner (``n_jobs``, ``retries``, ``client``,
    ``address``). Ctrl-C stops the runs and keeps the finished rows.

    Returns:
        The rows in run order, with the results' keys in order of first appearance.
    """
    rows: dict[int, dict[str, Any]] = {}
    result_keys: dict[str, None] = {}
    from tqdm.auto import tqdm

    bar = tqdm(total=len(runs), desc=f"sweep ({backend})", unit="run", disable=not progress)

    def record(i: int, outcome: Outcome) -> None:
        row = rows[i] = _row(*runs[i], outcome)
        if row["error"] is None:
            result_keys.update(dict.fromkeys(k for k in row if k not in point_keys
                                             and k not in RESERVED))
        bar.update(1)
        failed = sum(r["error"] is not None for r in rows.values())
        if failed:
            bar.set_postfix(failed=failed, refresh=False)

    t0 = time.perf_counter()
    interrupted = False
    try:
        _BACKENDS[backend](fn, runs, record, **options)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    return SweepResult([rows[i] for i in sorted(rows)], point_keys=point_keys,
                       result_keys=list(result_keys), total=len(runs),
                       interrupted=interrupted or len(rows) < len(runs), backend=backend,
                       seconds=time.perf_counter() - t0)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
