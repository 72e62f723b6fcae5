"""The ``runs`` and ``show`` commands of ``nasbench-lab``: read a SQLite store (their options are in
cli.py's parser; ``resume`` is in cli.py, beside ``search``, whose machinery it shares).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .cli_terminal import accuracy_source, plural, shown_path, to_json
from .spaces import get_space
from .strategies import strategy_class
from .store import default_store_path, open_store
from .storefile import StoreError, check_file


def store_path(args) -> tuple[str | None, bool]:
    """The store a command uses and whether a person named it: ``--store``, else ``$NASBENCH_LAB_STORE``,
    else the default file in the working directory (store.DEFAULT_STORE); (None, True) for ``--no-store``."""
    if getattr(args, "no_store", False):
        return None, True
    if getattr(args, "store", None):
        return args.store, True
    return default_store_path()


def store_from_args(args, readonly: bool = False):
    """The store that ``runs``, ``show`` and ``resume`` read (it must exist)."""
    path, named = store_path(args)
    if path != ":memory:" and not os.path.exists(path):
        if named:
            raise ValueError(f"no store at {path}")
        raise ValueError(f"no store at {shown_path(path)}: `search` records its runs there when run in this "
                         f"folder; pass --store PATH to read another")
    return open_store(path, readonly=readonly)          # checks the file is a store before touching it


def search_store(args, note) -> str | None:
    """The store path a search records in, or None (``--no-store``, or a default that cannot be used).

    A store the user named is checked by the search itself (a bad one is bad input: exit 2). The default
    file is checked here, before anything runs: why fall back instead of failing, a search that did not
    ask for a store must not fail for one (a read-only folder, a file of that name that is not a store);
    ``note`` gets one line saying the run is not recorded, and why.
    """
    path, named = store_path(args)
    if path is None or named:
        return path
    try:
        check_file(Path(path), readonly=False)           # refuses without creating anything
        if os.path.exists(path):
            open_store(path).close()                     # another program's database, a damaged store
    except StoreError as exc:
        note(f"not recording this run: {exc}; --store PATH records it elsewhere, --no-store silences this note")
        return None
    return path


def run_summary(r: dict) -> dict:
    best = None if r["best"] is None else {k: r["best"][k] for k in ("arch", "val_acc", "test_acc")}
    return {"run_id": r["run_id"], "space": r["space"], "strategy": r["strategy"], "estimator": r["estimator"],
            "status": r["status"], "evaluations": r["evaluations"], "budget": r["budget"], "seed": r["seed"],
            "best": best}


def cmd_runs(args) -> int:
    path, named = store_path(args)
    if not named and not os.path.exists(path):      # nothing recorded in this folder yet: not an error
        print("[]" if args.json else f"no runs: no store at {shown_path(path)} yet (`search` records its runs "
                                     f"there when run in this folder; --store PATH reads another)")
        return 0
    runs = [run_summary(r) for r in store_from_args(args, readonly=True).runs()]
    if args.json:
        print(to_json(runs))
        return 0
    if not runs:
        print(f"no runs in {shown_path(path)}")
        return 0
    print(f"{'run':12s}  {'status':8s}  {'space':6s}  {'strategy':10s}  {'estimator':10s}  {'evals':>9s}  best val")
    for r in runs:
        best = "" if r["best"] is None else _pct(r["best"]["val_acc"])
        evals = (f"{r['evaluations']:>4d} {r['budget']}ep" if _one_shot(r["strategy"])    # budget: supernet epochs
                 else f"{r['evaluations']:>4d}/{r['budget']:<4d}")
        print(f"{r['run_id']:12s}  {r['status']:8s}  {r['space']:6s}  {r['strategy']:10s}  {r['estimator']:10s}  "
              f"{evals:9s}  {best}")
    print(f"(best val: one evaluation's validation accuracy, not a mean; `show RUN` says of what; "
          f"store {shown_path(path)})")
    return 0


def _pct(v) -> str:
    """An accuracy as `runs` and `show` print it; n/a for none (a training that failed: stored as NULL)."""
    return "n/a" if v is None else f"{v:.2f} %"


def _one_shot(strategy: str) -> bool:
    """Whether a stored run's budget counts supernet epochs (False for a strategy this version lacks)."""
    try:
        return strategy_class(strategy).family == "one-shot"
    except ValueError:
        return False


def _cell(space, arch: str, metrics: dict) -> str:
    """The key under which two evaluations are the same architecture: the canonical cell when the space
    has one (isomorphic NB201 strings are one network), else the string itself."""
    if metrics.get("canonical"):
        return metrics["canonical"]
    try:
        return space.to_str(space.canonical(space.from_str(arch)))
    except (ValueError, AttributeError, NotImplementedError):
        return arch


def distinct_top(rows: list, k: int, space_name: str) -> list:
    """The ``k`` best distinct architectures of ``rows`` (best first), each with ``repeats``: the indices
    of its other evaluations. Why: a strategy may evaluate one cell several times (a mutation back to a
    parent, an isomorphic string); a top 5 listing it twice hides a fifth architecture."""
    try:
        space = get_space(space_name)
    except ValueError:
        space = None
    top: dict = {}
    for r in sorted(rows, key=lambda e: -(e["objective"] if e["objective"] is not None else float("-inf"))):
        key = r["arch"] if space is None else _cell(space, r["arch"], r["metrics"])
        if key in top:
            top[key]["repeats"].append(r["idx"])
        else:
            top[key] = {**{f: r[f] for f in ("idx", "arch", "val_acc", "test_acc", "objective")}, "repeats": [],
                        "metrics": r["metrics"]}
    return list(top.values())[:max(0, k)]


def cmd_show(args) -> int:
    st = store_from_args(args, readonly=True)
    run = st.run(args.run)
    rows = st.evaluation_rows(run["run_id"])
    counts: dict = {}
    for ev in st.events(run["run_id"]):
        counts[ev.kind] = counts.get(ev.kind, 0) + 1
    if args.export:
        st.export(run["run_id"], args.export)
    top = distinct_top(rows, args.top, run["space"])
    if args.json:
        print(to_json({**run_summary(run), "attempts": run["attempts"], "config": run["config"],
                       "versions": run["versions"], "error": run["error"],
                       "top": [{k: v for k, v in r.items() if k != "metrics"} for r in top], "events": counts}))
        return 0
    done = (f"{plural(run['evaluations'], 'cell')} scored after {plural(run['budget'], 'supernet epoch')}"
            if _one_shot(run["strategy"]) else f"{run['evaluations']}/{plural(run['budget'], 'evaluation')}")
    print(f"run {run['run_id']}: {run['status']}, {run['strategy']} on {run['space']} with {run['estimator']}, "
          f"seed {run['seed']}, {done}, {plural(run['attempts'], 'attempt')}")
    cfg = run["config"]
    print(f"  objective: {cfg.get('objective')}; options: {json.dumps(cfg.get('strategy_options') or {})}")
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in run["versions"].items() if k != "platform"))
    if run["error"]:
        print(f"  error: {run['error']}")
    if top and not any("proxy" in r["metrics"] for r in rows):
        print(f"  accuracies: {accuracy_source(run['estimator'], run['seed'], [r['metrics'] for r in rows])}")
    if top:
        print(f"  best {plural(len(top), 'distinct architecture')} of {plural(len(rows), 'evaluation')}:")
    for i, r in enumerate(top, 1):
        m = r["metrics"]
        if "proxy" in m:                               # a zero-cost score is not an accuracy
            score = f"{m['proxy']} score {r['val_acc']:.4g} (zero-cost)"
        else:
            score = f"val {_pct(r['val_acc'])}, test {_pct(r['test_acc'])}"
        again = ""
        if r["repeats"]:
            again = f" and {plural(len(r['repeats']), 'repeat')}: {', '.join(map(str, r['repeats'][:5]))}" + \
                    (", ..." if len(r["repeats"]) > 5 else "")
        obj = "n/a" if r["objective"] is None else f"{r['objective']:.4g}"
        print(f"  #{i} (evaluation {r['idx']}{again}): {score}, objective {obj}\n      {r['arch']}")
    if counts:
        print("  events: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
    if args.export:
        print(f"  exported to {args.export}")
    return 0
