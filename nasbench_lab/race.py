"""Races: several strategies, many seeds, one estimator; summarised the way NAS benchmarks report them.

A race is the experiment behind the comparison tables of NAS-Bench-201 (Dong & Yang, ICLR 2020,
Table 5) and NATS-Bench (Dong et al., TPAMI 2021): every strategy searches with the same estimator
(a table lookup, so a run costs milliseconds), on many seeds, to the same budget of queries and/or of
simulated training seconds. What is reported is the **test regret** of the architecture each run would
hand back (its incumbent: the best by *validation* accuracy, never by test) against the best cell of
the table: regret = best true test accuracy - true test accuracy of the incumbent.

Why "true" accuracy: the incumbent is chosen on one training seed's validation score, a noisy
measurement; its accuracy is reported as the table's mean test accuracy over all seeds, which is what
the cell would give in a new training. Choosing on noise and reporting on the same noise would flatter
every strategy (the winner's curse; notebook 06).

* ``race(...)``: run it; returns ``{strategy: [Trace per seed]}``;
* ``regret_at(traces, grid, x)``: a runs x grid matrix of regret against queries or simulated time;
* ``summary(...)``: mean final regret with a 95 % bootstrap interval per strategy;
* ``compare(...)``: a two-sided Mann-Whitney U test per pair, Holm-corrected (needs scipy).

Core code: no printing, no plotting (viz.anytime_figure draws the curves).
"""
from __future__ import annotations

import bisect
import concurrent.futures as cf
import itertools
import math
import multiprocessing
import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .bench import BenchTable
from .bench.cifar10 import Cifar10Table
from .errors import RaceError
from .estimators.table import TableEstimator
from .search import search
from .spaces import get_space


@dataclass
class Trace:
    """One run of a race: after each evaluation, the queries and simulated seconds spent so far and
    the true test regret of the incumbent."""

    strategy: str
    seed: int
    queries: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    regret: list = field(default_factory=list)
    incumbent: str | None = None
    time_budget: float | None = None
    """The race's time budget (simulated seconds), when it had one."""

    def _last(self) -> int:
        """Index of the last evaluation that finished within the time budget (-1: none did). Why not
        the last evaluation: the driver checks the budget before it asks, so a run's last evaluation
        ends past it, by a different amount for each strategy; a race compares them at the budget."""
        if self.time_budget is None:
            return len(self.regret) - 1
        return bisect.bisect_right(self.seconds, self.time_budget) - 1

    @property
    def final(self) -> float:
        """Regret at the end of the run (at the time budget, when the race had one)."""
        k = self._last()
        return self.regret[k] if k >= 0 else float("nan")

    @property
    def used(self) -> int:
        """Queries made by the end of the run (by the time budget, when the race had one)."""
        k = self._last()
        return self.queries[k] if k >= 0 else 0


def table_truth(table=None, setting: str | None = None) -> tuple[Callable[[str], float], float]:
    """(truth, best): a cell's mean test accuracy over the table's seeds (the laptop table) or over its
    isomorphic trainings (the CIFAR-10 table), and the best such value."""
    if isinstance(table, Cifar10Table):
        return table.truth("test_acc")
    table = table or BenchTable()
    target = table.protocol(setting or table.default_setting).proxy_of
    if target in table.settings:
        setting = target            # a race on a proxy setting is judged by its target task's truth
    test = table.scores(setting, "test_acc")            # mean over seeds, NaN where a cell is missing
    best = float(np.nanmax(test))

    def truth(arch: str) -> float:
        return float(test[table.row(arch)])
    return truth, best


def _entry(label: str, value) -> tuple[str, dict | None]:
    """(strategy name, options) of one race entry: ``{label: options}`` or ``{label: (name, options)}``
    (the second form races one strategy under several settings)."""
    if isinstance(value, tuple):
        if len(value) != 2 or not isinstance(value[0], str):
            raise RaceError(f"race entry {label!r}: give options, or a (strategy name, options) pair")
        return value
    return label, value


def _run(label: str, options, seed: int, estimator, budget: int, time_budget, truth, best, space: str,
         on_event, search_options: dict) -> Trace:
    name, options = _entry(label, options)
    trace = Trace(label, seed, time_budget=time_budget)
    state = {"arch": None, "regret": None}

    def record(ev):
        if ev.kind != "evaluation":
            return
        p = ev.payload
        if p["best_arch"] != state["arch"]:              # the incumbent changed: look it up once
            state["arch"], state["regret"] = p["best_arch"], best - truth(p["best_arch"])
        trace.queries.append(p["index"] + 1)
        trace.seconds.append(p["elapsed_cost"])
        trace.regret.append(state["regret"])
    extra = list(on_event) if isinstance(on_event, (list, tuple)) else [on_event] if on_event else []
    search(space, name, estimator, budget=budget, seed=seed, strategy_options=options, time_budget=time_budget,
           on_event=[record] + extra, **search_options)
    trace.incumbent = state["arch"]
    return trace


def _worker(recipe: dict, jobs: list) -> list:
    """A batch of runs in a worker process: the table estimator is rebuilt once from its path and
    setting (JSON-able), never pickled; truth comes from the same table."""
    if recipe.get("dataset") == "cifar10":
        est = TableEstimator(dataset="cifar10")
        table = est.table
    else:
        table = BenchTable(recipe["path"])
        est = TableEstimator(table=table, setting=recipe["setting"], epoch=recipe["epoch"], seed=recipe["seed"])
    truth, best = table_truth(table, recipe["setting"])
    space_obj = get_space(jobs[0][5]) if jobs else None          # one instance per worker (see race)
    return [_run(name, options, seed, est, budget, time_budget, truth, best, space_obj, None, {})
            for name, options, seed, budget, time_budget, _space in jobs]


def race(strategies: dict, estimator, seeds, budget: int, time_budget: float | None = None,
         truth: Callable[[str], float] | None = None, best: float | None = None, space: str = "nb201",
         on_run: Callable[[Trace], None] | None = None, on_event=None, workers: int = 1, **search_options) -> dict:
    """Run every strategy on every seed. ``strategies``: {name: options or None}, a list of names, or
    {label: (name, options)} to race one strategy under several settings.
    ``truth``/``best``: the true accuracy of a cell and the best one (default: the shipped table's
    mean test accuracy). ``on_run`` is called with each finished Trace; ``on_event`` (a callable or a
    list) receives every run's events (a live figure can subscribe). ``workers`` > 1: runs go to that
    many local processes (the table estimator with the default truth only; results are identical, as
    every run is deterministic, and come back in the same order)."""
    if not strategies:
        raise RaceError("a race needs at least one strategy")
    seeds = list(seeds)
    if not seeds:
        raise RaceError("a race needs at least one seed")
    if not isinstance(strategies, dict):
        strategies = {name: None for name in strategies}
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise RaceError(f"workers must be a positive integer, got {workers!r}")
    if workers > 1:
        if truth is not None or on_event is not None or search_options or getattr(estimator, "name", "") != "table":
            raise RaceError("a race with workers > 1 takes the table estimator and the default truth only "
                            "(no truth=, on_event= or other search options: they cannot travel to the workers)")
        return _race_parallel(strategies, estimator, seeds, budget, time_budget, space, on_run, workers)
    if truth is None:
        if best is not None:
            raise RaceError("give truth (a cell's true accuracy) together with best; without truth both come "
                            "from the table")
        truth, best = table_truth(getattr(estimator, "table", None), getattr(estimator, "setting", None))
    elif best is None:
        raise RaceError("give best (the best true accuracy) together with truth")
    # Why one space object for every run: NB201's isomorphism table (15,625 symbolic expressions) is
    # built once per instance; a fresh space per run would rebuild it hundreds of times.
    space = get_space(space)
    out = {}
    for name, options in strategies.items():
        out[name] = []
        for seed in seeds:
            trace = _run(name, options, seed, estimator, budget, time_budget, truth, best, space, on_event,
                         search_options)
            out[name].append(trace)
            if on_run is not None:
                on_run(trace)
    return out


def _race_parallel(strategies, estimator, seeds, budget, time_budget, space, on_run, workers) -> dict:
    d = estimator.describe()
    recipe = {"path": d["path"], "setting": d["setting"], "epoch": d["epoch"], "seed": d["seed"],
              "dataset": d.get("dataset", "fashion-mnist")}
    jobs = [(name, options, seed, budget, time_budget, space) for name, options in strategies.items() for seed in seeds]
    # Why batches: a worker pays for starting Python and loading the table once per batch, not per run;
    # a few batches per worker keep both busy when some strategies are slower than others.
    n = min(len(jobs), 4 * workers)
    batches = [jobs[i::n] for i in range(n)]
    out: dict = {name: [] for name in strategies}
    # Why spawn: a forked child would inherit the notebook's threads and locks (torch, the event bus).
    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = [t for batch in pool.map(_worker, [recipe] * n, batches) for t in batch]
    order = {(name, seed): i for i, (name, _, seed, *_rest) in enumerate(jobs)}
    for trace in sorted(done, key=lambda t: order[(t.strategy, t.seed)]):
        out[trace.strategy].append(trace)
        if on_run is not None:
            on_run(trace)
    return out


def regret_at(traces: list, grid, x: str = "seconds") -> np.ndarray:
    """Regret of each run at each grid point (NaN before its first evaluation): runs x len(grid)."""
    if x not in ("seconds", "queries"):
        raise RaceError(f"x must be 'seconds' or 'queries', got {x!r}")
    grid = np.asarray(grid, dtype=float)
    out = np.full((len(traces), grid.size), np.nan)
    for i, t in enumerate(traces):
        xs = np.asarray(getattr(t, x), dtype=float)
        if xs.size == 0:
            continue
        k = np.searchsorted(xs, grid, side="right") - 1          # last evaluation at or before each point
        ok = k >= 0
        out[i, ok] = np.asarray(t.regret, dtype=float)[k[ok]]
    return out


def curves(traces: list, x: str = "seconds") -> list:
    """(xs, regret) pairs, one per run: what ``viz.anytime_figure`` draws."""
    return [(list(getattr(t, x)), list(t.regret)) for t in traces]


def bootstrap_ci(values, level: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (seeded: the same numbers every time)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = rng.choice(v, size=(resamples, v.size), replace=True).mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def finals(result: dict, at: float | None = None, x: str = "seconds") -> dict:
    """Each strategy's regret per seed at the end of its runs (at the time budget, when the race had
    one), or at ``at`` (seconds or queries)."""
    if at is None:
        return {name: [t.final for t in traces] for name, traces in result.items()}
    return {name: regret_at(traces, [at], x)[:, 0].tolist() for name, traces in result.items()}


def _queries_by(trace: Trace, at: float, x: str) -> int:
    """Queries one run had made by ``at`` (seconds or queries)."""
    k = bisect.bisect_right(getattr(trace, x), at) - 1
    return trace.queries[k] if k >= 0 else 0


def summary(result: dict, at: float | None = None, x: str = "seconds") -> list[dict]:
    """One row per strategy, best first: mean regret, its 95 % bootstrap CI, median, how often the
    run ended on the table's best cell, mean queries used."""
    rows = []
    for name, values in finals(result, at, x).items():
        v = np.asarray(values, dtype=float)
        lo, hi = bootstrap_ci(v)
        queries = [t.used if at is None else _queries_by(t, at, x) for t in result[name]]
        rows.append({"strategy": name, "runs": int(np.isfinite(v).sum()), "mean": float(np.nanmean(v)),
                     "ci": (lo, hi), "median": float(np.nanmedian(v)), "optimum": int((v == 0).sum()),
                     "queries": float(np.mean(queries))})
    return sorted(rows, key=lambda r: r["mean"])


def compare(result: dict, at: float | None = None, x: str = "seconds", alpha: float = 0.05) -> list[dict]:
    """Every pair: two-sided Mann-Whitney U on the final regrets, p-values Holm-corrected for the number
    of pairs. Why rank-based: regrets are bounded below by 0 and skewed (many runs end on the optimum),
    so a t-test's normal assumption does not hold; Holm because 7 strategies make 21 tests."""
    try:
        from scipy.stats import mannwhitneyu       # optional and heavy: only the significance tests need it
    except ImportError:
        raise RaceError("race.compare needs scipy: pip install scipy") from None
    f = {k: np.asarray(v, dtype=float)[np.isfinite(v)] for k, v in finals(result, at, x).items()}
    pairs = []
    for a, b in itertools.combinations(f, 2):
        if f[a].size < 2 or f[b].size < 2 or (np.ptp(np.r_[f[a], f[b]]) == 0):
            p, lower = 1.0, 0.5
        else:
            res = mannwhitneyu(f[a], f[b], alternative="two-sided")
            p = float(res.pvalue)
            # P(a run of a ends lower than one of b), ties counted half: U counts the pairs where a is higher
            lower = 1.0 - float(res.statistic) / (f[a].size * f[b].size)
        pairs.append({"a": a, "b": b, "p": p, "mean_a": float(f[a].mean()), "mean_b": float(f[b].mean()),
                      "a_lower": lower})
    order = sorted(range(len(pairs)), key=lambda i: pairs[i]["p"])
    m, running = len(pairs), 0.0
    for rank, i in enumerate(order):              # Holm step-down, kept monotone
        running = max(running, min(1.0, (m - rank) * pairs[i]["p"]))
        pairs[i]["p_holm"] = running
    for p in pairs:
        p["significant"] = p["p_holm"] < alpha
        # Why the direction comes from the test and not from the means: the test compares ranks, and with
        # skewed regrets (most runs at 0, a few far off) the mean can point the other way
        better = p["a"] if p["a_lower"] > 0.5 else p["b"]
        worse = p["b"] if better == p["a"] else p["a"]
        p["better"] = better if p["significant"] else None          # the lower-regret one, when significant
        p["statement"] = (f"{better} has lower regret than {worse} (Holm p = {p['p_holm']:.3g})" if p["significant"]
                          else f"{p['a']} vs {p['b']}: no significant difference (Holm p = {p['p_holm']:.2g})")
    return pairs


def typical_cost(estimator, n: int = 200, seed: int = 0) -> float:
    """Median simulated seconds of one full evaluation, from ``n`` random cells: sizes time budgets."""
    space, rng = get_space("nb201"), random.Random(seed)
    costs = [estimator.evaluate(space, space.sample(rng), seed=0).cost for _ in range(n)]
    return float(np.median(costs)) if costs and all(math.isfinite(c) for c in costs) else float("nan")
