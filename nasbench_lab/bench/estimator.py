"""Estimator ``table``: look the candidate up in the lab's tabular benchmark instead of training it.

Scores cost microseconds instead of minutes, so strategies can be raced over many seeds (NAS-Bench-201,
NATS-Bench). ``cost`` is the *simulated* wall-clock time: the training seconds the table recorded for
that cell (pro rata for an earlier epoch), so a race can be plotted against time as well as evaluations.
"""
from __future__ import annotations

from ..estimators import Estimator, EstimatorError, Evaluation
from .table import BenchTable


class TableEstimator(Estimator):
    name = "table"
    deterministic = True

    def __init__(self, setting: str | None = None, epoch: int | None = None, seed: int | None = None, path=None,
                 table: BenchTable | None = None, dataset: str = "fashion-mnist", device=None, **unused):
        if dataset != "fashion-mnist":
            raise EstimatorError(f"the table estimator has Fashion-MNIST results only, not {dataset!r}")
        if unused:
            raise EstimatorError(f"unknown option(s) for estimator 'table': {', '.join(unused)}")
        self.table = table or BenchTable(path)
        self.setting = setting or self.table.default_setting     # the CPU-built laptop setting when shipped
        self.epoch, self.seed = epoch, seed
        self.table.protocol(self.setting)                 # validates the setting now, not at the first query

    def max_epochs(self, space) -> int | None:
        return None if self.epoch is not None else self.table.protocol(self.setting).epochs

    def evaluate(self, space, arch, seed: int = 0, emit=None, stop=None, epochs: int | None = None,
                 continues: int = 0) -> Evaluation:
        """``epochs`` (multi-fidelity rungs): the validation accuracy after that epoch of the recorded
        training run; ``continues``: epochs already paid for by an earlier rung, so only the rest is
        charged (the same run goes on)."""
        if space.name != "nb201":
            raise EstimatorError(f"the table estimator covers the nb201 space only, not {space.name!r}")
        seeds = list(self.table.protocol(self.setting).seeds)
        # Which training seed answers: fixed by the option, else chosen by the search seed (deterministic).
        s = self.seed if self.seed is not None else seeds[seed % len(seeds)]
        epoch = self.epoch if epochs is None else epochs
        r = self.table.query(space.to_str(arch), self.setting, seed=s, epoch=epoch)
        if r["val_acc"] is None and self.seed is None:
            # a table whose later seeds are still being built: the next seed this cell has answers (the
            # evaluation records which one, as table_seed); a seed asked for explicitly is never swapped
            for other in seeds[seeds.index(s) + 1:] + seeds[:seeds.index(s)]:
                r = self.table.query(space.to_str(arch), self.setting, seed=other, epoch=epoch)
                if r["val_acc"] is not None:
                    s = other
                    break
        if r["val_acc"] is None:
            raise EstimatorError(f"{r['canonical']} has no {self.setting} result for seed {s} in this table")
        total = self.table.protocol(self.setting).epochs
        cost = (r["cost"] or 0.0) * (r["epoch"] - continues) / r["epoch"]
        metrics = {"params": r["params"], "macs": r["macs"], "macs_live": r["macs_live"],
                   "flops": r["flops"], "latency_ms": r["latency_ms"], "epochs": r["epoch"],
                   "curve": r["val_curve"][:r["epoch"]], "canonical": r["canonical"], "table_seed": s,
                   "simulated": True}
        if r["epoch"] < total:
            metrics["partial"] = True
        return Evaluation(space.to_str(arch), r["val_acc"], r["test_acc"], cost, metrics)

    def describe(self) -> dict:
        return {"name": self.name, "setting": self.setting, "epoch": self.epoch, "seed": self.seed,
                "path": str(self.table.path)}


ESTIMATORS = {"table": lambda **kw: TableEstimator(**kw)}
