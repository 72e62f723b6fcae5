"""Estimator ``table``: look the candidate up in the lab's tabular benchmark instead of training it.

Scores cost microseconds instead of minutes, so strategies can be raced over many seeds (NAS-Bench-201,
NATS-Bench). ``cost`` is the *simulated* wall-clock time: the training seconds the table recorded for
that cell (pro rata for an earlier epoch), so a race can be plotted against time as well as evaluations.

Two tables answer, chosen by ``dataset``:

* ``fashion-mnist`` (default): the laptop table the lab builds (2 epochs on Fashion-MNIST, 2 seeds per
  cell, learning curves, measured training seconds). ``val_acc`` is one seed's validation accuracy,
  ``test_acc`` that seed's test accuracy.
* ``cifar10``: AnalogNAS-Bench (every NB201 string trained 200 epochs, ``cifar10.py``). ``val_acc`` is
  the queried string's own training (the one noisy measurement a strategy chooses on), ``test_acc`` the
  mean over its cell's isomorphic trainings (the truth reported, never chosen on); the hardware
  accuracies are metrics objectives can name; the cost is the measured step model times 200 epochs of
  steps. No curves, so no ``epoch`` option and no multi-fidelity strategies.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..bench.analognas import HARDWARE_METRICS
from ..bench.cifar10 import Cifar10Table
from ..bench.table import BenchTable
from ..errors import EstimatorError
from ..spaces.base import shown
from .base import Estimator, Evaluation

DATASETS = ("fashion-mnist", "cifar10")
NO_CURVES = ("the CIFAR-10 table has no learning curves (one accuracy per string after 200 epochs); "
             "multi-fidelity strategies run on the laptop table, which has them: --dataset fashion-mnist")


@dataclass
class TableConfig:
    """Options of the ``table`` estimator (the laptop table; the CIFAR-10 one has none of them)."""

    setting: str | None = None
    """Which training protocol of the table answers (None: the table's default)."""
    epoch: int | None = None
    """Answer with the accuracy after this epoch (None: the last): low fidelity from the table."""
    seed: int | None = None
    """Which training seed answers (None: chosen by the search seed)."""


class TableEstimator(Estimator):
    name = "table"
    deterministic = True
    config_class = TableConfig

    def __init__(self, dataset: str = "fashion-mnist", device=None, path=None, table=None, **options):
        """``path``: a table file (None: the shipped one); ``table``: an open ``BenchTable`` or ``Cifar10Table``."""
        if dataset not in DATASETS:
            raise EstimatorError(f"the table estimator has no {shown(dataset, 40)} table; choose one of: "
                                 f"{', '.join(DATASETS)}")
        self.config = self.configure(options)
        setting, epoch, seed = self.config.setting, self.config.epoch, self.config.seed
        self.dataset = dataset
        if dataset == "cifar10" or isinstance(table, Cifar10Table):
            self._init_cifar10(setting, epoch, seed, path, table)
            return
        self.table = table or BenchTable(path)
        self.setting = setting or self.table.default_setting     # the CPU-built laptop setting when shipped
        self.epoch, self.seed = epoch, seed
        self.table.protocol(self.setting)                 # validates the setting now, not at the first query

    def _init_cifar10(self, setting, epoch, seed, path, table) -> None:
        for name, value, why in (("setting", setting, "it has one protocol"),
                                 ("epoch", epoch, "it has no learning curves"),
                                 ("seed", seed, "every string is one training; its isomorphic strings are the others"),
                                 ("path", path, "it is read from the installed analog-nasbench package")):
            if value is not None:
                raise EstimatorError(f"option {name!r} does not apply to the CIFAR-10 table: {why}")
        self.dataset = "cifar10"
        self.table = table if table is not None else Cifar10Table()
        self.setting, self.epoch, self.seed = None, None, None

    @property
    def scores(self) -> tuple:
        """The hardware accuracies an objective may maximise: the CIFAR-10 table's, none on the laptop table."""
        return HARDWARE_METRICS if self.dataset == "cifar10" else ()

    @property
    def no_epochs_reason(self) -> str | None:
        """Why multi-fidelity strategies cannot use this estimator (None: they can)."""
        return NO_CURVES if self.dataset == "cifar10" else None

    def max_epochs(self, space) -> int | None:
        if self.dataset == "cifar10":
            return None
        return None if self.epoch is not None else self.table.protocol(self.setting).epochs

    def evaluate(self, space, arch, seed: int = 0, emit=None, stop=None, epochs: int | None = None,
                 continues: int = 0) -> Evaluation:
        """``epochs`` (multi-fidelity rungs): the validation accuracy after that epoch of the recorded
        training run; ``continues``: epochs already paid for by an earlier rung, so only the rest is
        charged (the same run goes on)."""
        if space.name != "nb201":
            raise EstimatorError(f"the table estimator covers the nb201 space only, not {space.name!r}")
        if self.dataset == "cifar10":
            if epochs is not None:
                raise EstimatorError(NO_CURVES)
            return self._evaluate_cifar10(space, arch)
        seeds = list(self.table.protocol(self.setting).seeds)
        # Which training seed answers: fixed by the option, else chosen by the search seed (deterministic).
        s = self.seed if self.seed is not None else seeds[seed % len(seeds)]
        epoch = self.epoch if epochs is None else epochs
        r = self.table.query(arch, self.setting, seed=s, epoch=epoch)
        if r["val_acc"] is None and self.seed is None:
            # a table whose later seeds are still being built: the next seed this cell has answers (the
            # evaluation records which one, as table_seed); a seed asked for explicitly is never swapped
            for other in seeds[seeds.index(s) + 1:] + seeds[:seeds.index(s)]:
                r = self.table.query(arch, self.setting, seed=other, epoch=epoch)
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
        return Evaluation(arch, r["val_acc"], r["test_acc"], cost, metrics)

    def _evaluate_cifar10(self, space, arch) -> Evaluation:
        r = self.table.query(arch)
        metrics = {"params": r["params"], "macs": r["macs"], "latency_ms": r["latency_ms"],
                   **{m: r[m] for m in HARDWARE_METRICS}, "canonical": r["canonical"],
                   "trainings": r["trainings"], "step_s": r["step_s"], "table": "cifar10", "simulated": True}
        # val_acc: this string's own training; test_acc: its cell's mean over every isomorphic training
        return Evaluation(arch, r["test_acc"], r["truth"]["test_acc"], r["cost"] or 0.0, metrics)

    def describe(self) -> dict:
        if self.dataset == "cifar10":
            return {"name": self.name, "dataset": "cifar10", "setting": None, "epoch": None, "seed": None,
                    "path": None, "source": f"{self.table.meta.get('package')} {self.table.meta.get('version')}"}
        return {"name": self.name, "dataset": self.dataset, "setting": self.setting, "epoch": self.epoch,
                "seed": self.seed, "path": str(self.table.path)}
