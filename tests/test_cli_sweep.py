"""``chainrule sweep``: the train settings as lists, the CSV and picture in DIR, Ctrl-C, errors."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli_run import usage_error
from visualize import palette
from visualize.app import sweep as sweep_cmd
from visualize.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["sweep", "--samples", "40", "--epochs", "2", "--hidden", "4", "--batch-size", "8",
         "--no-progress"]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_sweep_writes_every_run_to_the_csv_and_draws_each_swept_setting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "out"  # missing folders are created
    status = main([*SMALL, "--lr", "0.01,0.3", "--hidden", "4/3,3", "--seeds", "0-2",
                   "--backend", "serial", "-o", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "sweep: 12 runs (2 hidden x 2 lr x 3 seeds) on serial" in printed
    assert "hidden=3,3, lr=0.3: test_accuracy" in printed
    rows = _rows(out / "sweep.csv")
    assert [(r["hidden"], r["lr"], r["seed"]) for r in rows] == [
        (h, lr, s) for h in ("[4]", "[3, 3]") for lr in ("0.01", "0.3") for s in "012"]
    assert all(r["error"] == "" and r["epochs_run"] == "2" for r in rows)
    # the rows are the runs' real results: recompute one
    point = {"data": "moons", "samples": 40, "noise": 0.1, "hidden": [3, 3],
             "activation": "relu", "optimizer": "adam", "lr": 0.3, "epochs": 2,
             "batch_size": 8, "l2": 0.0, "test_size": 0.2, "data_seed": 0}
    again = sweep_cmd.run_training(point, 2)
    assert float(rows[-1]["test_loss"]) == again["test_loss"]
    assert float(rows[-1]["train_accuracy"]) == again["train_accuracy"]
    svg = (out / "sweep.svg").read_text()
    for text in ("hidden", "lr", "3,3", "0.01", "0.3", "test accuracy over 3 seeds",
                 "hidden=4", "lr=0.3"):
        assert f">{text}" in svg or f"{text}<" in svg, text
    assert palette.SERIES[0] in svg and palette.SERIES[1] in svg


def test_processes_write_the_same_csv_as_serial(tmp_path: Path) -> None:
    args = [*SMALL, "--optimizer", "sgd,adam", "--seeds", "3,5"]
    assert main([*args, "--backend", "serial", "-o", str(tmp_path / "a")]) == 0
    assert main([*args, "--backend", "processes", "--jobs", "2", "-o", str(tmp_path / "b")]) == 0
    a = (tmp_path / "a" / "sweep.csv").read_text()
    assert a == (tmp_path / "b" / "sweep.csv").read_text()
    assert len(a.splitlines()) == 5


def test_seeds_alone_draw_one_panel_over_the_seeds(tmp_path: Path) -> None:
    assert main([*SMALL, "--seeds", "0-3", "--backend", "serial", "-o", str(tmp_path)]) == 0
    assert len(_rows(tmp_path / "sweep.csv")) == 4
    svg = (tmp_path / "sweep.svg").read_text()
    assert ">seed<" in svg and "over 4 seeds" in svg


def test_ctrl_c_writes_the_finished_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    real = sweep_cmd.run_training

    def stop_at_seed_2(point: dict[str, Any], seed: int) -> dict[str, Any]:
        if seed == 2:
            raise KeyboardInterrupt
        return real(point, seed)

    monkeypatch.setattr(sweep_cmd, "run_training", stop_at_seed_2)
    status = main([*SMALL, "--seeds", "0-5", "--backend", "serial", "-o", str(tmp_path)])
    assert status == 130
    err = capsys.readouterr().err
    assert "interrupted (Ctrl-C) after 2 of 6 runs" in err
    assert [r["seed"] for r in _rows(tmp_path / "sweep.csv")] == ["0", "1"]


def test_a_real_ctrl_c_to_the_process_group_stops_the_workers_and_keeps_rows(
        tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-u", "-m", "visualize.app.console", *SMALL[:-1],
                          "--samples", "200", "--epochs", "40", "--seeds", "0-199",
                          "--backend", "processes",
                          "--jobs", "2", "-o", "out"], cwd=tmp_path, env=env, text=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)  # its own group, as a terminal's job
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(lambda: p.stderr.read(1), "")),
                              daemon=True)
    reader.start()
    deadline = time.monotonic() + 120

    def finished() -> int:  # the progress bar's count
        return max((int(n) for n in re.findall(r"(\d+)/200", "".join(err))), default=0)

    while finished() < 3 and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.01)
    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C reaches the command and its workers
    p.wait(timeout=60)
    reader.join(timeout=10)
    text = "".join(err)
    assert p.returncode == 130, text
    assert "Traceback" not in text
    rows = _rows(tmp_path / "out" / "sweep.csv")
    assert 3 <= len(rows) < 200
    assert f"interrupted (Ctrl-C) after {len(rows)} of 200 runs" in text
    assert [int(r["seed"]) for r in rows] == sorted(int(r["seed"]) for r in rows)


def test_a_failed_run_is_a_row_with_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    real = sweep_cmd.run_training

    def fail_lr_03(point: dict[str, Any], seed: int) -> dict[str, Any]:
        if point["lr"] == 0.3:
            raise FloatingPointError("the loss is nan")
        return real(point, seed)

    monkeypatch.setattr(sweep_cmd, "run_training", fail_lr_03)
    assert main([*SMALL, "--lr", "0.01,0.3", "--seeds", "0-1", "--backend", "serial",
                 "-o", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "run lr=0.3, seed=0 failed: FloatingPointError: the loss is nan" in err
    rows = _rows(tmp_path / "sweep.csv")
    assert [r["error"] for r in rows] == ["", "", "FloatingPointError: the loss is nan",
                                          "FloatingPointError: the loss is nan"]
    assert "2 failed runs left out" in (tmp_path / "sweep.svg").read_text()
    # every run failed: exit status 1, the CSV still written
    assert main([*SMALL, "--lr", "0.3", "--seeds", "0", "--backend", "serial",
                 "-o", str(tmp_path / "all")]) == 1
    assert len(_rows(tmp_path / "all" / "sweep.csv")) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--seeds", "9-0"], "the range '9-0' runs backwards"),
    (["--seeds", "0-2,2"], "2 is listed twice"),
    (["--lr", "0.1,x"], "expected a positive number, got 'x'"),
    (["--hidden", "8,x/4"], "expected comma-separated positive layer widths"),
    (["--optimizer", "adam,lbfgs"], "unknown 'lbfgs'; choose from"),
    (["--epochs", "0-3"], "0 is out of range: must be at least 1"),
    (["--backend", "threads"], "invalid choice: 'threads'"),
])
def test_bad_lists_get_argparse_messages(args: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert message in usage_error(["sweep", *args], capsys)


@pytest.mark.parametrize(("args", "message"), [
    (["--seeds", "0-9999", "--lr", "0.1,0.2"], "20000 runs are over the limit of 10000"),
    (["--hidden", "1000,1000/4"], "parameters are over the limit"),
    (["--address", "tcp://127.0.0.1:1"], "add --backend dask or --backend ray"),
])
def test_oversized_or_inconsistent_sweeps_are_refused_before_any_run(
        tmp_path: Path, args: list[str], message: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", *args, "-o", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "sweep.csv").exists()


def test_output_folder_through_a_file_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("x")
    assert main([*SMALL, "-o", str(tmp_path / "f")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_missing_ray_names_its_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main([*SMALL, "--backend", "ray", "-o", str(tmp_path)]) == 2
    assert "pip install 'chainrule[ray]'" in capsys.readouterr().err


@pytest.mark.cluster
def test_dask_at_an_address_writes_the_serial_csv(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    args = [*SMALL, "--lr", "0.01,0.3", "--seeds", "0-1"]
    assert main([*args, "--backend", "serial", "-o", str(tmp_path / "a")]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert main([*args, "--backend", "dask", "--address", cluster.scheduler_address,
                     "-o", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "sweep.csv").read_text() == \
        (tmp_path / "b" / "sweep.csv").read_text()
