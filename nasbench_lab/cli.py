"""The ``nasbench-lab`` command. Argument parsing lives here and only here (house rule 4).

Bad input exits with status 2 and one line on stderr naming the problem, never a traceback: every
library error is a ValueError subclass with a message written for the user.

The commands' work beside this file: ``cli_terminal.py`` (what a run shows on the terminal: JSON,
progress bar, Ctrl-C), ``cli_runs.py`` (``runs``, ``show``), ``cli_bench.py`` (``bench``, ``course``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys

import torch

from .bench import default_path
from .bench.analognas import locate
from .cli_bench import cmd_bench, cmd_course
from .cli_runs import cmd_runs, cmd_show, search_store, store_from_args
from .cli_terminal import GracefulStop, Progress, note, print_result, to_json, warn_cost
from .course import EDITIONS
from .data import find_datasets
from .estimators import LOW_FIDELITY, Fidelity, get_estimator, list_estimators
from .events import EventBus
from .executors import get_executor
from .objectives import parse_objective
from .search import check_seed, resume, search
from .spaces import get_space, list_spaces
from .strategies import list_strategies, strategy_class
from .version import __version__


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message):
        raise SystemExit(_fail(f"{self.prog}: {message}"))


def _fail(msg: str) -> int:
    line = (msg.strip().splitlines() or ["unknown error"])[0]
    if not line.startswith("nasbench-lab"):
        line = "nasbench-lab: error: " + line
    sys.stderr.write(line + "\n")
    return 2


def _add_fidelity(p):
    g = p.add_argument_group("training fidelity (estimators train / lowfi)")
    g.add_argument("--epochs", type=int, help="training epochs per candidate")
    g.add_argument("--train-subset", type=int, help="training images per candidate (0: all)")
    g.add_argument("--val-subset", type=int, help="validation images for the score")
    g.add_argument("--test-subset", type=int, help="test images for the reported test accuracy (0: skip)")
    g.add_argument("--batch-size", type=int, help="training batch size")
    g.add_argument("--lr", type=float, help="peak learning rate")
    g.add_argument("--skeleton", help="network size as JSON, e.g. '{\"C\": 16, \"N\": 5}' for nb201")
    g.add_argument("--data-root", help="folder holding the dataset files")
    g.add_argument("--no-download", action="store_true", help="never try to download a missing dataset")


def _fidelity(args, estimator: str):
    base = dataclasses.replace(LOW_FIDELITY) if estimator == "lowfi" else Fidelity()
    for field in ("epochs", "val_subset", "test_subset", "batch_size", "lr"):
        v = getattr(args, field, None)
        if v is not None:
            setattr(base, field, v)
    if getattr(args, "train_subset", None) is not None:
        base.train_subset = args.train_subset or None
    if getattr(args, "skeleton", None):
        try:
            base.skeleton = json.loads(args.skeleton)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--skeleton is not valid JSON ({exc.msg}): {args.skeleton!r}") from None
        if not isinstance(base.skeleton, dict):
            raise ValueError(f"--skeleton must be a JSON object, got {args.skeleton!r}")
    return base


def _estimator_options(args) -> dict:
    opts = {}
    if args.estimator in ("train", "lowfi"):
        opts["fidelity"] = _fidelity(args, args.estimator)
        opts["download"] = not args.no_download
        if args.data_root:
            opts["data_root"] = args.data_root
    extra = _parse_options(getattr(args, "estimator_option", None) or [])
    clash = sorted(set(extra) & set(opts))
    if clash:
        raise ValueError(f"--estimator-option {clash[0]} is set by its own flag; use that flag")
    return {**opts, **extra}


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nasbench-lab", description="Neural Architecture Search workbench")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    s = sub.add_parser("search", help="run an architecture search")
    s.add_argument("--space", default="nb201")
    s.add_argument("--strategy", default="random")
    s.add_argument("--estimator", default="train")
    s.add_argument("--budget", type=int, default=10, help="evaluations (multi-trial) or epochs (one-shot)")
    s.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="multi-trial: also stop when the evaluations' summed cost reaches this (simulated "
                        "seconds with --estimator table)")
    s.add_argument("--dataset", default="fashion-mnist")
    s.add_argument("--device", default="auto", help="auto, cpu or cuda")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--store", help="SQLite file to record the run in (resumable; default: $NASBENCH_LAB_STORE, "
                                   "else nasbench_runs.sqlite in this folder)")
    s.add_argument("--no-store", action="store_true", help="record nothing (no store file)")
    s.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="strategy option (repeatable), value parsed as JSON when possible")
    s.add_argument("--estimator-option", action="append", default=[], metavar="KEY=VALUE",
                   help="estimator option (repeatable), e.g. proxy=naswot for zerocost, setting=full for table")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--objective", default="accuracy",
                   help="what to maximise: accuracy, a hard limit 'flops<=20e6', a MnasNet penalty "
                        "'latency_ms:target=5,w=-0.07', or terms joined by ';' (metrics: params, macs, flops, latency_ms)")
    _add_execution(s)
    _add_fidelity(s)
    _add_store_commands(sub)

    t = sub.add_parser("train", help="train one architecture from scratch and report its test accuracy")
    t.add_argument("--space", default="nb201")
    t.add_argument("--arch", required=True, help="architecture string, or a reference name (see info)")
    t.add_argument("--dataset", default="fashion-mnist")
    t.add_argument("--device", default="auto")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--estimator", default="train", choices=["train", "lowfi"])
    t.add_argument("--json", action="store_true")
    t.add_argument("--no-progress", action="store_true", help="no progress bar or lines on stderr")
    _add_fidelity(t)

    i = sub.add_parser("info", help="versions, device, datasets found, spaces, strategies, estimators")
    i.add_argument("--json", action="store_true")

    b = sub.add_parser("bench", help="the lab's tabular NB201 benchmark: info, query, build, merge")
    bsub = b.add_subparsers(dest="bench_command", parser_class=_Parser)
    bi = bsub.add_parser("info", help="protocol, coverage, best cell, spread, seed-vs-seed Kendall tau")
    bi.add_argument("--table", help="table file (default: the one shipped with the package)")
    bi.add_argument("--dataset", default="fashion-mnist",
                    help="which truth: fashion-mnist (the laptop table) or cifar10 (AnalogNAS-Bench, 200 epochs)")
    bi.add_argument("--json", action="store_true")
    bq = bsub.add_parser("query", help="one architecture's record")
    bq.add_argument("arch", help="any NB201 string (mapped to its canonical cell)")
    bq.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist (laptop table) or cifar10")
    bq.add_argument("--setting", help="benchmark setting (default: the table's own, laptop when shipped)")
    bq.add_argument("--seed", type=int)
    bq.add_argument("--epoch", type=int)
    bq.add_argument("--table")
    bq.add_argument("--json", action="store_true")
    bb = bsub.add_parser("build", help="train cells into a build folder (resumable; laptop: a 2-core CPU, "
                                       "an afternoon; full: a GPU)")
    bb.add_argument("--out", default="bench_build", help="build folder holding the shard files")
    bb.add_argument("--settings", default="laptop,laptop-lowfi",
                    help="comma-separated: laptop, laptop-lowfi (CPU), full, lowfi (GPU), tiny (tests)")
    bb.add_argument("--start", type=int, default=0, help="first canonical cell (shard by range)")
    bb.add_argument("--end", type=int, help="one past the last canonical cell")
    bb.add_argument("--device", default="auto")
    bb.add_argument("--workers", type=int, default=1, help="worker processes (or Ray actors)")
    bb.add_argument("--threads", type=int, default=1,
                    help="per worker: torch threads on the CPU, training threads (CUDA streams) on a GPU")
    bb.add_argument("--executor", default="process", choices=["process", "ray"],
                    help="process: local worker processes; ray: Ray actors, chunks of tasks each")
    bb.add_argument("--ray-address", help="HOST:PORT of a running Ray cluster (default: start a local one)")
    bb.add_argument("--time-limit", type=float, help="seconds; stop starting new tasks after it")
    bb.add_argument("--limit", type=int, help="at most this many tasks")
    bb.add_argument("--latency", action="store_true",
                    help="then measure the costs (MACs, FLOPs, batch-1 latency) of cells that lack them, alone")
    bb.add_argument("--data-root")
    bb.add_argument("--merge", metavar="TABLE", help="then merge the folder into this table file")
    bm = bsub.add_parser("merge", help="merge build folders into one table file (one setting per folder)")
    bm.add_argument("out", nargs="+", help="build folder(s)")
    bm.add_argument("--table", required=True, help="table file to write (.npz)")
    bm.add_argument("--default", help="setting answered when a query names none (default: laptop, else full)")

    c = sub.add_parser("course", help="the course notebooks: export a student or a teacher edition")
    csub = c.add_subparsers(dest="course_command", parser_class=_Parser)
    ce = csub.add_parser("export", help="write the course notebooks into DIR; student: without the solution "
                                        "cells, teacher: with them")
    ce.add_argument("dir", help="folder to write the notebooks into (created if missing)")
    ce.add_argument("--edition", required=True, choices=EDITIONS)
    ce.add_argument("--source", help="course folder (default: notebooks/ of this checkout)")
    return p


def _parse_options(pairs) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option needs KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def cmd_search(args) -> int:
    parse_objective(args.objective)                    # bad syntax: one line, before anything starts
    cls = strategy_class(args.strategy)
    family = cls.family
    notes: list = []
    store = args.recorded = search_store(args, notes.append)

    def tell(ev):            # the store's note waits for run_started: refused input stays one line on stderr
        if ev.kind == "run_started":
            for line in notes:
                note(line)
    with _executor(args) as ex, GracefulStop(family, _in_flight(cls, ex)) as stop, \
            Progress(args, family) as bar:
        result = search(space=args.space, strategy=args.strategy, estimator=args.estimator, budget=args.budget,
                        dataset=args.dataset, device=args.device, seed=args.seed, store=store,
                        strategy_options=_parse_options(args.option), estimator_options=_estimator_options(args),
                        objective=args.objective, executor=ex, stop=stop, time_budget=args.time_budget,
                        on_event=[warn_cost, tell, stop] + ([bar] if bar else []))
    print_result(args, result, store, args.seed)
    return 0


def cmd_train(args) -> int:
    check_seed(args.seed)
    space = get_space(args.space)
    arch = space.reference(args.arch) if args.arch in space.references() else space.from_str(args.arch)
    opts = _estimator_options(args)
    est = get_estimator(args.estimator, dataset=args.dataset, device=args.device, **opts)
    bus = EventBus("train")                      # the training loop's epoch and step events, for Progress
    with Progress(args) as bar:
        if bar:
            bar.begin("train", est.fidelity.epochs, "epochs", "epoch")
            bus.subscribe(bar)
        ev = est.evaluate(space, arch, seed=args.seed, emit=bus.emit)
    if args.json:
        print(to_json(ev.to_dict()))
    else:
        m = ev.metrics
        test = "n/a" if ev.test_acc is None else f"{ev.test_acc:.2f} %"
        print(f"{ev.arch}\n  val acc {ev.val_acc:.2f} %, test acc {test} (one training from scratch, seed "
              f"{args.seed}), {m.get('params', 0):,} params, {m.get('flops', 0) / 1e6:.1f} MFLOPs, {ev.cost:.1f} s")
    return 0


def cmd_info(args) -> int:
    info = {"nasbench_lab": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "cuda_available": torch.cuda.is_available(),
            "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
            "cpu_threads": torch.get_num_threads(), "datasets": find_datasets(),
            "spaces": {n: get_space(n).describe() for n in list_spaces()},
            "strategies": list_strategies(), "estimators": list_estimators(), "tables": _tables()}
    if args.json:
        print(to_json(info))
        return 0
    print(f"nasbench_lab {info['nasbench_lab']}  python {info['python']}  torch {info['torch']}")
    print(f"device: {info['device']} (cuda available: {info['cuda_available']}), cpu threads {info['cpu_threads']}")
    print("datasets:")
    for name, where in info["datasets"].items():
        print(f"  {name:14s} {where or 'not found (downloaded on first use when online)'}")
    print("spaces:")
    for name, d in info["spaces"].items():
        size = d.get("size")
        print(f"  {name:8s} size {size if size is not None else '?'}; references: {', '.join(d.get('references', []))}")
    print("strategies: " + ", ".join(info["strategies"]))
    print("estimators: " + ", ".join(info["estimators"]))
    print("tables (--estimator table --dataset D):")
    for name, where in info["tables"].items():
        print(f"  {name:14s} {where}")
    return 0


def _tables() -> dict:
    """Where each truth of the table estimator comes from, or what brings it."""
    out = {"fashion-mnist": f"the laptop table, {default_path()}" if default_path().is_file() else "not shipped"}
    try:
        _, version = locate()
        out["cifar10"] = f"AnalogNAS-Bench (analog-nasbench {version}), 200 epochs per NB201 string"
    except ValueError as exc:
        out["cifar10"] = str(exc)
    return out


# ---------------------------------------------------------------------- executors and stored runs
def _add_execution(p):
    g = p.add_argument_group("where evaluations run")
    g.add_argument("--executor", default="inprocess", help="inprocess (default), process or ray")
    g.add_argument("--workers", type=int, help="worker processes / Ray workers (evaluations in flight)")
    g.add_argument("--ray-address", help="address of a running Ray cluster (default: start a local one)")
    g.add_argument("--gpus-per-worker", type=float, default=0.0, help="Ray: GPU fraction per worker, e.g. 0.25")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress on stderr (a bar on a terminal, a line every 10 s elsewhere)")


def _add_store_commands(sub):
    store_help = "SQLite store file (default: $NASBENCH_LAB_STORE, else nasbench_runs.sqlite in this folder)"
    r = sub.add_parser("runs", help="list the runs in a store")
    r.add_argument("--store", help=store_help)
    r.add_argument("--json", action="store_true", help="print a JSON list of runs")
    sh = sub.add_parser("show", help="one stored run: config, status, best, top evaluations, events")
    sh.add_argument("run", help="run id (or a unique prefix)")
    sh.add_argument("--store", help=store_help)
    sh.add_argument("--top", type=int, default=5, help="how many of the best evaluations to list")
    sh.add_argument("--export", metavar="FILE", help="also write the run to FILE (.csv or .json)")
    sh.add_argument("--json", action="store_true")
    rs = sub.add_parser("resume", help="continue an interrupted run without losing or repeating an evaluation")
    rs.add_argument("run", help="run id (or a unique prefix)")
    rs.add_argument("--store", help=store_help)
    rs.add_argument("--budget", type=int, help="new total budget (default: the run's own)")
    rs.add_argument("--time-budget", type=float, metavar="SECONDS",
                    help="new time budget of a multi-trial run (default: the run's own)")
    rs.add_argument("--json", action="store_true", help="print one JSON object")
    _add_execution(rs)


def _executor(args):
    name = args.executor
    if args.ray_address and name != "ray":
        raise ValueError("--ray-address needs --executor ray")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be a positive integer, got {args.workers}")
    if name == "inprocess" and args.workers is not None:
        raise ValueError("--workers needs --executor process or ray (in process, evaluations run one at a time)")
    if name != "ray" and args.gpus_per_worker:
        raise ValueError("--gpus-per-worker needs --executor ray")
    opts = {} if args.workers is None or name == "inprocess" else {"workers": args.workers}
    if name == "ray":
        opts.update(address=args.ray_address, num_gpus=args.gpus_per_worker)
    return get_executor(name, **opts)                  # a context manager: workers released on exit


def _in_flight(cls, executor) -> int:
    """Evaluations in flight at once: an executor's slots serve only the asynchronous strategies."""
    return getattr(executor, "slots", 1) if cls.asynchronous else 1


def cmd_resume(args) -> int:
    st = args.recorded = store_from_args(args)
    run = st.run(args.run)
    cls = strategy_class(run["strategy"])
    family = cls.family
    with _executor(args) as ex, GracefulStop(family, _in_flight(cls, ex)) as stop, \
            Progress(args, family) as bar:
        result = resume(run["run_id"], st, budget=args.budget, executor=ex, stop=stop,
                        on_event=[stop] + ([bar] if bar else []), time_budget=args.time_budget)
    print_result(args, result, st.path, run["seed"])
    return 0


COMMANDS = {"search": cmd_search, "train": cmd_train, "info": cmd_info, "bench": cmd_bench, "runs": cmd_runs,
            "show": cmd_show, "resume": cmd_resume, "course": cmd_course}


def main(argv=None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except ValueError as exc:                # every library error names the problem
        return _fail(str(exc))
    except KeyboardInterrupt:
        if getattr(args, "recorded", None) is None:
            return _fail("interrupted")
        return _fail("interrupted at once: the evaluation in flight is lost; the finished ones are kept in the "
                     "store (`nasbench-lab runs` lists the run, `resume RUN` continues it)")
    except BrokenPipeError:
        # `nasbench-lab show RUN | head`: the reader left; nothing is wrong. Why the devnull: Python
        # flushes stdout once more at exit, which would raise (and print) the same error again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except RuntimeError as exc:             # e.g. CUDA out of memory: still one clear line
        if os.environ.get("NASBENCH_LAB_DEBUG"):
            raise
        return _fail(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
