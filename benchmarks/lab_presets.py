"""Each strategy's first classroom preset, run in the Lab as a student would: time to the first plotted
point, how long Stop takes, and what the run showed of the strategy's mechanism.

    python benchmarks/lab_presets.py [--strategies evolution,darts,...] [--after 3] [--json]

Per strategy: a headless ``Lab(strategy=..., preset="classroom...")`` (the first preset whose label
starts with "classroom"), ``run()``, the seconds until the History panel holds a point (the first live
point: the tab a student sees after Run) and which kind of event drew it, then ``--after`` seconds
more, then ``stop()`` and the seconds until the search thread has ended. "first result" is the seconds
until the first ``evaluation`` or ``epoch`` event (for a one-shot strategy: its first supernet epoch,
which was the first point before ``progress`` events; "> N s" if it had not come when Stop was pressed).
The "shows" column is read from the figures the Lab drew (population members removed, controller
updates, the largest alpha, within-epoch points), so it is what the student saw, not an internal counter.
Timings depend on the machine and its load: they are printed, never asserted.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _shows(lab) -> str:
    """A one-line summary of the mechanism, from the events the Lab's panels received."""
    from nasbench_lab.viz.records import as_record
    kinds: dict[str, list] = {}
    seen = set()
    for panel in lab.panels.values():
        for ev in panel.events():
            if id(ev) in seen:                        # every panel holds the events it draws: count once
                continue
            seen.add(id(ev))
            kind, payload = as_record(ev)
            kinds.setdefault(kind, []).append(payload)
    parts = []
    if "population" in kinds:
        removed = {r for p in kinds["population"] for r in (p.get("removed") or [])}
        parts.append(f"{len(removed)} members removed over {len(kinds['population'])} snapshots")
    if "controller" in kinds:
        parts.append(f"{len(kinds['controller'])} controller updates")
    snaps = [p for p in kinds.get("alphas", []) + kinds.get("progress", []) if p.get("weights")]
    if snaps:
        last = max(snaps, key=lambda p: p.get("epoch") or 0)
        w = last["weights"]
        rows = [r for cell in (w.values() if isinstance(w, dict) else [w]) for r in cell]
        parts.append(f"largest alpha weight {max(max(r) for r in rows):.2f} "
                     f"(uniform {1 / len(rows[0]):.2f}) at epoch {last.get('epoch')}")
    if "epoch" in kinds and "alphas" not in kinds:
        parts.append(f"{len(kinds['epoch'])} supernet epochs")
    if "progress" in kinds:
        parts.append(f"{len(kinds['progress'])} within-epoch points")
    if "evaluation" in kinds:
        parts.append(f"{len(kinds['evaluation'])} evaluations")
    return "; ".join(parts) or "nothing drawn"


def measure(strategy: str, after: float, timeout: float = 300.0) -> dict:
    from nasbench_lab.widgets import Lab
    lab = Lab(strategy=strategy, preset="classroom", device="cpu")
    label = lab.preset.value
    from nasbench_lab.viz.records import as_record
    results = []                                  # when the first evaluation or epoch event came
    lab_on_event = lab._on_event

    def on_event(ev):                             # the Lab's own subscriber, timed (why: it is what Run wires)
        if not results and as_record(ev)[0] in ("evaluation", "epoch"):
            results.append(time.perf_counter())
        lab_on_event(ev)
    lab._on_event = on_event
    t0 = time.perf_counter()
    lab.run()
    first, by = None, None
    while time.perf_counter() - t0 < timeout and lab.running:
        if lab.panels["History"].pane.points() > 0 or any(p.has_data() for p in lab.panels.values()
                                                          if hasattr(p, "has_data")):
            first = time.perf_counter() - t0
            by = next((as_record(ev)[0] for ev in lab.panels["History"].events()), None)
            break
        time.sleep(0.05)
    time.sleep(after)
    t1 = time.perf_counter()
    result = round(results[0] - t0, 2) if results else None
    lab.stop()
    lab.wait(60)
    stop_s = time.perf_counter() - t1
    lab._throttle.flush()
    return {"strategy": strategy, "preset": label, "estimator": lab.estimator.value,
            "first_point_s": None if first is None else round(first, 2), "first_point_kind": by,
            "first_result_s": result, "ran_s": round(t1 - t0, 2), "stop_s": round(stop_s, 2),
            "state": lab.state, "shows": _shows(lab), "errors": lab.errors[-2:]}


def main(argv=None) -> int:
    from nasbench_lab.strategies import list_strategies
    from nasbench_lab.widgets.presets import presets
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strategies", default=None, help="comma-separated (default: every strategy with a preset)")
    ap.add_argument("--after", type=float, default=3.0, help="seconds to let it run after the first point")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    names = a.strategies.split(",") if a.strategies else [
        s for s in list_strategies() if any(k.startswith("classroom") for k in presets(s))]
    rows = []
    for name in names:
        row = measure(name, a.after)
        rows.append(row)
        if not a.json:
            first = "never" if row["first_point_s"] is None else f"{row['first_point_s']:.1f} s"
            result = (f"> {row['ran_s']:.0f} s" if row["first_result_s"] is None
                      else f"{row['first_result_s']:.1f} s")
            print(f"{name:10s} first point {first:>7s} ({row['first_point_kind'] or '-'}), first result "
                  f"{result:>7s}  Stop {row['stop_s']:.2f} s  [{row['estimator']}] {row['shows']}  "
                  f"({row['preset']})", flush=True)
    if a.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
