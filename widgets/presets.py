"""Classroom presets and warnings in words: settings that let each strategy show its mechanism.

A strategy run with the wrong settings teaches the wrong lesson: evolution whose budget does not exceed
its population never evolves (it is random search), REINFORCE with a handful of controller updates never
leaves its uniform policy, DARTS with the paper's alpha learning rate on a classroom budget keeps its
alphas uniform. ``advice(...)`` says so in words before Run; ``presets(strategy)`` offers settings, chosen
by measurement on a 2-core CPU (numbers in the issue-12 report), that make the mechanism visible in a few
minutes. Pure Python (no widgets): the Lab shows both, the tests read them directly.
"""
from __future__ import annotations

from nasbench_lab.bench import default_path
from nasbench_lab.bench.analognas import locate
from nasbench_lab.strategies import list_strategies, strategy_class

ONE_SHOT = tuple(s for s in list_strategies() if strategy_class(s).family == "one-shot")

INVENTED = "an invented landscape: the numbers are not real accuracies"
"""How the synthetic estimator is labelled wherever the Lab shows it."""

# A small training fidelity: one candidate in 1.5-3 s on a loaded 2-core CPU (C=8, N=1 classroom skeleton).
# Measured on 4 NB201 cells: 64-71 % val acc. The batch size matters: 1000 images in batches of 128 (8
# steps) scored 10-13 %, chance level, which would make every search a lottery.
SMALL_FIDELITY = {"epochs": 1, "train_subset": 2000, "val_subset": 500, "test_subset": 500, "batch_size": 32}


def table_available() -> bool:
    """Whether the shipped tabular benchmark exists (scores in microseconds, real accuracies)."""
    try:
        return default_path().is_file()
    except Exception:  # noqa: BLE001 - a broken table is as good as none here
        return False


def cifar10_available() -> bool:
    """Whether the CIFAR-10 table can be read (the analog-nasbench package is installed)."""
    try:
        locate()
        return True
    except Exception:  # noqa: BLE001 - a missing or broken package is as good as none here
        return False


PACE = 0.1
"""Seconds per evaluation of the table presets: 60 lookups take 6 s, a run a class can watch."""


def default_estimator(estimators) -> str:
    """A real estimator by default: ``table`` when the shipped table exists, else ``train`` (classroom fidelity)."""
    if "table" in estimators and table_available():
        return "table"
    return "train" if "train" in estimators else estimators[0]


def presets(strategy: str, table: bool | None = None, cifar10: bool | None = None) -> dict[str, dict]:
    """Named settings for ``strategy``: {label: {space, estimator, dataset, budget, strategy_options,
    estimator_options, pace?}}. With a table, multi-trial presets use it (instant, real accuracies, paced
    at ``PACE`` s an evaluation so the run can be watched); without, they train at a small fidelity.
    ``table`` / ``cifar10``: whether the laptop table / the CIFAR-10 table is there (None: look).

    Which truth: the CIFAR-10 table (200 epochs; two trainings of a cell agree with tau 0.90) where it
    is installed, because there a strategy's progress is real and not noise; the laptop table (tau
    0.28) for the multi-fidelity strategies, which need its learning curves. The label says which."""
    laptop_table = table_available() if table is None else table
    cifar10 = cifar10_available() if cifar10 is None else cifar10
    # Every multi-trial preset names its space. Why: the tables hold NB201 cells only, and a preset that
    # left the space alone inherited the last one chosen (the proxyless preset's "mobile"), so the
    # classroom preset picked next failed with "the table estimator covers the nb201 space only". The
    # training and synthetic presets were measured on NB201 too, so they name it as well: a preset gives
    # the same run whatever was picked before it.
    nb201 = {"space": "nb201"}
    laptop = {**nb201, "estimator": "table", "dataset": "fashion-mnist", "estimator_options": {}, "pace": PACE}
    fast = ({**nb201, "estimator": "table", "dataset": "cifar10", "estimator_options": {}, "pace": PACE} if cifar10
            else laptop if laptop_table else
            {**nb201, "estimator": "train", "dataset": "fashion-mnist",
             "estimator_options": {"fidelity": SMALL_FIDELITY}})
    where = "CIFAR-10 table" if cifar10 else "laptop table" if laptop_table else "train, 1 epoch"
    table = laptop_table or cifar10                   # an instant table of either kind: the larger budgets
    syn = {**nb201, "estimator": "synthetic", "dataset": "synthetic", "estimator_options": {}}
    one_shot = {"estimator": "train", "dataset": "fashion-mnist", "estimator_options": {"fidelity": SMALL_FIDELITY}}
    out: dict[str, dict] = {}
    if strategy == "evolution":
        out[f"classroom: members replaced ({where})"] = {**fast, "budget": 60 if table else 40,
                                                         "strategy_options": {"population": 10 if table else 8,
                                                                              "sample": 3}}
        out["aging off: the worst dies (tournament GA)"] = {**fast, "budget": 60 if table else 40,
                                                           "strategy_options": {"population": 10 if table else 8,
                                                                                "sample": 3, "aging": False}}
        out["instant (synthetic: invented scores)"] = {**syn, "budget": 200,
                                                       "strategy_options": {"population": 20, "sample": 5}}
    elif strategy == "reinforce":
        out[f"classroom: the policy learns ({where})"] = {**fast, "budget": 120 if table else 40,
                                                          "strategy_options": {"batch": 4 if table else 2,
                                                                               "lr": 0.05}}
        out["instant (synthetic: invented scores)"] = {**syn, "budget": 300,
                                                       "strategy_options": {"batch": 5, "lr": 0.05}}
    elif strategy == "random":
        out[f"classroom baseline ({where})"] = {**fast, "budget": 60 if table else 30, "strategy_options": {}}
    elif strategy == "local":
        out[f"classroom: hill climbing ({where})"] = {**fast, "budget": 80 if table else 30,
                                                      "strategy_options": {"first_improvement": not table}}
    elif strategy == "predictor":
        out[f"classroom: surrogate picks ({where})"] = {**fast, "budget": 40 if table else 24,
                                                        "strategy_options": {"initial": 8, "batch": 4}}
    elif strategy in ("successive_halving", "hyperband"):
        # Why 2 epochs without the table: one epoch leaves a single rung, and the strategy is random search.
        # Why the laptop table even where CIFAR-10 is installed: only it has learning curves (rungs).
        has_curves = laptop_table
        mf = laptop if has_curves else {**nb201, "estimator": "train", "dataset": "fashion-mnist",
                                        "estimator_options": {"fidelity": {**SMALL_FIDELITY, "epochs": 2}}}
        opts = {"n": 16, "eta": 2} if strategy == "successive_halving" else {"eta": 2}
        label = ("16 cells 1 epoch, the best half on" if strategy == "successive_halving"
                 else "brackets from aggressive to none")
        out[f"classroom: {label} ({'laptop table: it has learning curves' if has_curves else 'train, 2 epochs'})"] = {
            **mf, "budget": 60 if has_curves else 24, "strategy_options": opts}
    elif strategy == "tpe":
        out[f"classroom: a model of good cells ({where})"] = {**fast, "budget": 60 if table else 24,
                                                             "strategy_options": {"n_startup": 10 if table else 6}}
    elif strategy == "zerocost_guided":
        out[f"classroom: score 100 cells, evaluate 5 ({where})"] = {
            **fast, "budget": 30 if table else 10,
            "strategy_options": {"proxy": "synflow", "pool": 100 if table else 20, "top": 5 if table else 2}}
    elif strategy == "darts":
        # arch_lr measured (nb201, classroom scale, 2-core CPU, ~12 s an epoch; uniform weight 0.2): the
        # largest op weight after 6 epochs is 0.208 at the paper's 3e-4 (invisible), 0.28 at 3e-3, 0.50
        # at 1e-2 (0.30 after 2 epochs) and 0.74 at 3e-2 (one op takes over).
        out["classroom: alphas separate (6 epochs)"] = {**one_shot, "space": "nb201", "budget": 6,
                                                        "strategy_options": {"scale": "classroom",
                                                                             "arch_lr": DARTS_ARCH_LR}}
        out["fast alphas 3e-2: one op takes over"] = {**one_shot, "space": "nb201", "budget": 6,
                                                       "strategy_options": {"scale": "classroom", "arch_lr": 3e-2}}
        out["paper alpha lr 3e-4 (alphas stay uniform)"] = {**one_shot, "space": "nb201", "budget": 6,
                                                           "strategy_options": {"scale": "classroom"}}
    elif strategy == "enas":
        out["classroom: controller over a shared supernet"] = {**one_shot, "space": "nb201", "budget": 4,
                                                               "strategy_options": {"scale": "classroom"}}
    elif strategy == "spos":
        out["classroom: uniform paths, then evolution"] = {**one_shot, "space": "nb201", "budget": 4,
                                                           "strategy_options": {"scale": "classroom",
                                                                                "population": 8, "generations": 3}}
    elif strategy == "proxyless":
        out["classroom: latency in the loss"] = {**one_shot, "space": "mobile", "budget": 4,
                                                 "strategy_options": {"scale": "classroom", "lam": 0.1}}
    return out


DARTS_ARCH_LR = 1e-2
"""The classroom alpha learning rate (measured: the largest op weight reaches 0.30 after 2 classroom
epochs and 0.50 after 6, against 0.208 at the paper's 3e-4)."""


def advice(strategy: str, estimator: str, budget: int, strategy_options: dict | None = None,
           dataset: str | None = None) -> list[str]:
    """Warnings, in words, about settings that defeat the strategy (empty: nothing to say)."""
    opts = dict(strategy_options or {})
    out = []
    if strategy == "evolution":
        pop = opts.get("population", 20)
        if isinstance(pop, int) and isinstance(budget, int) and budget <= pop:
            out.append(f"budget {budget} <= population {pop}: every evaluation is one of the {pop} random "
                       f"initial members and nothing evolves: this is random search. Use a budget several "
                       f"times the population (e.g. population 10, budget 60).")
        elif isinstance(pop, int) and isinstance(budget, int) and budget < 2 * pop:
            out.append(f"budget {budget} < 2 x population {pop}: only {budget - pop} children; few members "
                       f"are ever replaced.")
    if strategy == "reinforce":
        batch = opts.get("batch", 5)
        if isinstance(batch, int) and batch > 0 and isinstance(budget, int):
            updates = budget // batch
            if updates < 10:
                out.append(f"only {updates} controller update(s) (budget {budget} / batch {batch}): the policy "
                           f"barely moves from uniform, so this is close to random search. Aim for 10 or more "
                           f"(a smaller batch or a larger budget).")
    if strategy in ONE_SHOT:
        out.append(f"{strategy} is one-shot: the budget ({budget}) counts supernet training epochs, not "
                   f"evaluations; the final candidates are then scored by the estimator.")
    if estimator == "synthetic":
        out.append(f"estimator synthetic: {INVENTED}.")
    if dataset == "synthetic" and estimator not in ("synthetic", "table"):
        out.append("dataset synthetic: invented images (a smoke test, not a learning task).")
    return out


__all__ = ["DARTS_ARCH_LR", "INVENTED", "ONE_SHOT", "PACE", "SMALL_FIDELITY", "advice", "cifar10_available",
           "default_estimator", "presets", "table_available"]
