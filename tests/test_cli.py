"""The command line: real runs, JSON output, and bad input (exit 2, one line on stderr, no traceback)."""
import json
import re
import subprocess
import sys

import pytest

from nasbench_lab.cli import main


@pytest.fixture(autouse=True)
def _in_a_tmp_folder(tmp_path, monkeypatch):
    """Searches record in nasbench_runs.sqlite of the working directory by default: each test runs in a
    folder of its own (subprocesses inherit it), never in the repository or the home folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NASBENCH_LAB_STORE", raising=False)


def run_cli(*args):
    p = subprocess.run([sys.executable, "-m", "nasbench_lab.cli", *args], capture_output=True, text=True,
                       env={**__import__("os").environ, "NASBENCH_LAB_OFFLINE": "1"}, timeout=600)
    return p.returncode, p.stdout, p.stderr


def test_search_json_on_synthetic(capsys):
    rc = main(["search", "--space", "nb201", "--strategy", "random", "--estimator", "train", "--budget", "2",
               "--dataset", "synthetic", "--device", "cpu", "--seed", "1", "--json", "--epochs", "1",
               "--train-subset", "256", "--skeleton", '{"C": 4, "N": 1}'])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0
    assert set(out) >= {"run_id", "space", "strategy", "estimator", "best", "evaluations", "seconds"}
    assert out["evaluations"] == 2 and out["space"] == "nb201"
    assert set(out["best"]) == {"arch", "val_acc", "test_acc"} and out["best"]["arch"].startswith("|")


def test_train_reference_and_info(capsys):
    assert main(["train", "--space", "nb201", "--arch", "resnet", "--dataset", "synthetic", "--device", "cpu",
                 "--epochs", "1", "--train-subset", "256", "--skeleton", '{"C": 4, "N": 1}', "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["arch"] == "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    assert ev["metrics"]["params"] > 0 and ev["test_acc"] is not None
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"nb201", "darts", "chain", "mobile"} <= set(info["spaces"]) and "random" in info["strategies"]
    assert info["spaces"]["nb201"]["size"] == 15_625


@pytest.mark.parametrize("args, needle", [
    (["search", "--space", "nb999"], "unknown space 'nb999'"),
    (["search", "--strategy", "magic"], "unknown strategy 'magic'"),
    (["search", "--estimator", "oracle"], "unknown estimator 'oracle'"),
    (["search", "--budget", "0"], "budget must be a positive integer"),
    (["search", "--budget", "-3"], "budget must be a positive integer"),
    (["search", "--budget", "two"], "invalid int value"),
    (["search", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["train", "--arch", "|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--dataset", "synthetic"],
     "unknown nb201 op 'conv_9x9'"),
    (["train", "--arch", "|nor_conv_3x3~0|+", "--dataset", "synthetic"], "malformed nb201 string"),
    (["search", "--dataset", "cifar10", "--data-root", "/nonexistent", "--no-download", "--budget", "1"],
     "cifar10 not found"),
    (["search", "--skeleton", "{C:", "--dataset", "synthetic"], "--skeleton is not valid JSON"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    rc, out, err = run_cli(*args)
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err


def test_python_api_raises_valueerror_with_the_same_message():
    import nasbench_lab as nl
    for kwargs, needle in [({"space": "nb999"}, "unknown space 'nb999'"), ({"budget": 0}, "budget must be"),
                           ({"strategy": "magic"}, "unknown strategy"), ({"estimator": "oracle"}, "unknown estimator")]:
        with pytest.raises(ValueError, match=needle):
            nl.search(dataset="synthetic", device="cpu", **kwargs)


def test_latency_objective_makes_the_train_estimator_measure_latency():
    import nasbench_lab as nl
    res = nl.search("nb201", "random", "train", budget=2, dataset="synthetic", device="cpu",
                    objective="latency_ms<=1000",
                    estimator_options={"fidelity": {"epochs": 1, "train_subset": 128, "skeleton": {"C": 4, "N": 1}}})
    assert all(e.metrics["latency_ms"] > 0 for e in res.evaluations)
    plain = nl.search("nb201", "random", "train", budget=1, dataset="synthetic", device="cpu",
                      estimator_options={"fidelity": {"epochs": 1, "train_subset": 128, "skeleton": {"C": 4, "N": 1}}})
    assert "latency_ms" not in plain.evaluations[0].metrics     # measured only when asked (it is noisy)


def test_a_large_budget_answers_with_its_cost_before_it_starts():
    """5,000 evaluations at 200 epochs each: one stderr note with the estimate comes before any
    evaluation ends (read here while the run is still in its first training, then stopped)."""
    import os
    import time
    cmd = [sys.executable, "-m", "nasbench_lab.cli", "search", "--space", "nb201", "--strategy", "random",
           "--estimator", "train", "--dataset", "synthetic", "--device", "cpu", "--budget", "5000",
           "--epochs", "200", "--train-subset", "256", "--skeleton", '{"C": 4, "N": 1}', "--no-progress"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "NASBENCH_LAB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    try:
        t0 = time.monotonic()
        line = p.stderr.readline()                 # blocks until the note (or the end of the process)
        assert time.monotonic() - t0 < 120
    finally:
        p.kill()
        p.wait()
    assert line.startswith("nasbench-lab: note: 5,000 evaluations at this fidelity will take about "), line
    assert "Ctrl-C stops" in line and " s each" in line


def test_search_estimates_large_multi_trial_budgets_only():
    from nasbench_lab import search
    from nasbench_lab.search import StopFlag
    seen = []
    stop = StopFlag()

    def on_event(ev):
        if ev.kind == "run_started":
            seen.append(ev.payload["estimated_seconds"])
            stop.set()                               # the estimate is all this test wants
    fid = {"epochs": 1, "train_subset": 64, "val_subset": 50, "test_subset": 0, "batch_size": 16}
    search(space="nb201", strategy="random", estimator="train", dataset="synthetic", device="cpu", budget=1000,
           estimator_options={"fidelity": fid}, on_event=on_event, stop=stop)
    search(space="nb201", strategy="random", estimator="synthetic", budget=3, on_event=on_event)
    assert seen[0] is not None and seen[0] > 0 and seen[1] is None


def test_estimator_options_and_time_budget_reach_the_run(capsys):
    assert main(["search", "--strategy", "hyperband", "--estimator", "synthetic", "--budget", "500",
                 "--time-budget", "200", "--estimator-option", "epochs=8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 < out["evaluations"] < 500                # the time budget ended it
    assert main(["search", "--estimator", "zerocost", "--budget", "2", "--device", "cpu", "--dataset", "synthetic",
                 "--estimator-option", "proxy=params", "--estimator-option", "image_size=16"]) == 0
    assert "params score" in capsys.readouterr().out


# ---------------------------------------------------------------------- the default store
TABLE_RUN = ["search", "--estimator", "table", "--budget", "5"]


def test_runs_are_recorded_by_default_in_the_working_directory(tmp_path, capsys):
    assert main(["runs"]) == 0                                  # nothing recorded here yet: not an error
    assert "no runs: no store at " + str(tmp_path / "nasbench_runs.sqlite") in capsys.readouterr().out
    assert main([*TABLE_RUN, "--json"]) == 0
    out, err = capsys.readouterr()
    res = json.loads(out)
    default = tmp_path / "nasbench_runs.sqlite"
    assert res["store"] == str(default) and default.is_file()
    assert f"run {res['run_id']} is recorded in {default} (nasbench-lab show {res['run_id']})" in err
    assert main(TABLE_RUN) == 0                                 # the text output says it too
    assert f"is recorded in {default}" in capsys.readouterr().err
    assert main(["runs", "--json"]) == 0                        # runs and show read it without flags
    assert [r["evaluations"] for r in json.loads(capsys.readouterr().out)] == [5, 5]
    assert main(["show", res["run_id"]]) == 0
    assert f"run {res['run_id']}: finished" in capsys.readouterr().out
    assert main(["resume", res["run_id"], "--budget", "7", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["evaluations"] == 7


def test_no_store_and_the_overrides(tmp_path, capsys, monkeypatch):
    assert main([*TABLE_RUN, "--no-store", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["store"] is None and "recorded" not in err
    assert not (tmp_path / "nasbench_runs.sqlite").exists()
    assert main([*TABLE_RUN, "--store", "mine.sqlite", "--json"]) == 0
    rid = json.loads(capsys.readouterr().out)["run_id"]
    assert not (tmp_path / "nasbench_runs.sqlite").exists()
    assert main(["show", rid, "--store", "mine.sqlite"]) == 0 and rid in capsys.readouterr().out
    monkeypatch.setenv("NASBENCH_LAB_STORE", str(tmp_path / "env.sqlite"))
    assert main([*TABLE_RUN, "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["store"] == str(tmp_path / "env.sqlite") and (tmp_path / "env.sqlite").is_file()
    assert main(["runs", "--json"]) == 0 and len(json.loads(capsys.readouterr().out)) == 1
    assert not (tmp_path / "nasbench_runs.sqlite").exists()


@pytest.mark.parametrize("blocker", ["directory", "text file"])
def test_an_unusable_default_store_does_not_fail_the_search(tmp_path, capsys, blocker):
    """A search that did not ask for a store runs anyway and says in one line that it is not recorded
    (a folder it cannot write in behaves the same way; root can write anywhere, so a file of the
    store's name that is not a store stands in for it here)."""
    path = tmp_path / "nasbench_runs.sqlite"
    path.mkdir() if blocker == "directory" else path.write_text("my notes\n")
    assert main([*TABLE_RUN, "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["evaluations"] == 5 and json.loads(out)["store"] is None
    (line,) = err.strip().splitlines()
    assert line.startswith("nasbench-lab: note: not recording this run: ") and "--store PATH" in line
    assert path.is_dir() if blocker == "directory" else path.read_text() == "my notes\n"
    assert main(["search", "--space", "nb999"]) == 2            # refused input: still its one line
    assert capsys.readouterr().err.count("\n") == 1
    assert main([*TABLE_RUN, "--store", str(path)]) == 2        # a store the user named is checked: exit 2


# ---------------------------------------------------------------------- numbers people read
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NOISE = re.compile(r"\d\.\d{7,}")                      # 76.5999984741211: float32 read as a double


def test_json_numbers_carry_their_precision_and_no_float32_noise(capsys):
    from nasbench_lab.cli_terminal import honest
    assert honest({"val_acc": 76.5999984741211, "cost": 3.1919000148773193}) == {"val_acc": 76.6, "cost": 3.1919}
    assert honest({"val_curve": [54.033498764038086, 74.33349990844727]}) == {"val_curve": [54.0335, 74.3335]}
    assert honest({"train_acc": 6.640625, "tau": 0.27452519912650547, "time": 1754000000.123456}) == \
        {"train_acc": 6.640625, "tau": 0.27452519912650547, "time": 1754000000.123456}   # exact values stay
    assert honest({"val_acc": float("nan"), "x": [float("inf")]}) == {"val_acc": None, "x": [None]}
    assert main(["search", "--estimator", "table", "--budget", "20", "--json"]) == 0
    out = capsys.readouterr().out
    assert not NOISE.search(out), out
    assert json.loads(out)["best"]["val_acc"] == 74.867
    assert main(["bench", "query", CELL, "--json"]) == 0
    out = capsys.readouterr().out
    r = json.loads(out)
    assert not NOISE.search(out) and r["val_acc"] == 74.3335 and r["seeds"] == [0, 1], out


def test_people_read_two_decimals_and_what_each_accuracy_is(capsys):
    assert main(["search", "--estimator", "table", "--budget", "1"]) == 0
    out = capsys.readouterr().out
    assert ", 1 evaluation in " in out                                       # not "1 evaluations"
    assert re.search(r"val acc \d+\.\d\d %, test acc \d+\.\d\d % \(one training: the table's record of "
                     r"training seed 0\)", out), out
    assert main(["bench", "query", CELL]) == 0
    out = capsys.readouterr().out
    assert "seed: mean of seeds 0 and 1" in out and "val_acc: 74.33 %" in out and "test_acc: 75.12 %" in out
    assert main(["bench", "query", CELL, "--seed", "1"]) == 0
    assert "seed: 1 (one training)" in capsys.readouterr().out
    assert main(["bench", "info"]) == 0
    out = capsys.readouterr().out
    full = next(line for line in out.splitlines() if line.startswith("[full]"))
    assert "trained with seed 0 (the protocol also names seed 1: no cell has it yet)" in full, full
    assert "cells trained per seed: 1565 (seed 0) of 6466" in out and ", 0 of 6466" not in out
    assert "best (by val, mean of seeds 0 and 1)" in out and "best (by val, one training, seed 0)" in out
    assert main(["train", "--arch", "resnet", "--dataset", "synthetic", "--device", "cpu", "--epochs", "1",
                 "--train-subset", "256", "--skeleton", '{"C": 4, "N": 1}']) == 0
    out = capsys.readouterr().out
    assert re.search(r"val acc \d+\.\d\d %, test acc \d+\.\d\d % \(one training from scratch, seed 0\)", out), out


def test_show_lists_distinct_architectures_and_marks_repeats(capsys):
    assert main(["search", "--strategy", "evolution", "--estimator", "table", "--budget", "60",
                 "--option", "population=10", "--json"]) == 0
    rid = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["show", rid, "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["top"]
    from nasbench_lab.spaces import get_space
    sp = get_space("nb201")
    cells = [sp.to_str(sp.canonical(sp.from_str(r["arch"]))) for r in top]
    assert len(top) == 5 and len(set(cells)) == 5                             # this run evaluates cells again
    assert any(r["repeats"] for r in top)
    assert main(["show", rid]) == 0
    out = capsys.readouterr().out
    listed = [line.strip() for line in out.splitlines() if line.startswith("      |")]
    assert len(listed) == len(set(listed)) == 5
    assert re.search(r"#\d \(evaluation \d+ and \d+ repeats?: ", out), out
    assert "best 5 distinct architectures of 60 evaluations" in out
    assert "accuracies: one training each: the table's record of training seed 0" in out
    assert "1 attempt\n" in out and "1 attempt(s)" not in out
