"""The estimators' registry and the one option contract of strategies and estimators.

Parametrised over ``list_estimators()`` and ``list_strategies()``: a new entry is smoke-tested and its
options checked without touching this file (house rule 8). The per-entry settings below only make the
runs tiny; an entry without one runs with its defaults.
"""
from __future__ import annotations

import dataclasses
import json
import math

import pytest

from nasbench_lab import get_space, list_estimators, list_strategies, search
from nasbench_lab.config import build, fields
from nasbench_lab.estimators import Estimator, EstimatorError, estimator_class, get_estimator
from nasbench_lab.strategies import StrategyError, strategy_class

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_FIDELITY = {"epochs": 1, "train_subset": 64, "val_subset": 64, "test_subset": 0, "batch_size": 32}
# (dataset, estimator options) that keep one evaluation under a second on a laptop CPU
SMOKE = {
    "train": ("synthetic", {"fidelity": TINY_FIDELITY}),
    "lowfi": ("synthetic", {"fidelity": TINY_FIDELITY}),
    "table": ("fashion-mnist", {}),                    # the shipped laptop table (it answers nb201)
    "supernet": ("synthetic", {"epochs": 1, "train_subset": 64, "val_subset": 64, "batch_size": 32,
                               "bn_batches": 1, "bn_batch_size": 32}),
    "zerocost": ("synthetic", {"batch_size": 8, "image_size": None}),
}


@pytest.mark.parametrize("name", list_estimators())
def test_every_estimator_scores_a_search(name):
    dataset, options = SMOKE.get(name, ("synthetic", {}))
    res = search("nb201", "random", name, budget=2, seed=0, dataset=dataset, device="cpu",
                 estimator_options=options)
    space = get_space("nb201")
    assert len(res.evaluations) == 2 and res.estimator == name
    for ev in res.evaluations:
        assert space.check(ev.arch) is ev.arch                     # the space's value, not its string
        assert math.isfinite(ev.val_acc) and ev.cost >= 0 and json.dumps(ev.to_dict())
    est = get_estimator(name, dataset=dataset, device="cpu", **options)
    assert isinstance(est, estimator_class(name)) and est.name == name
    assert json.dumps(est.describe())                                # stored with every run


@pytest.mark.parametrize("name", list_estimators())
def test_an_unknown_estimator_option_is_named(name):
    with pytest.raises(EstimatorError, match="no_such_option"):
        get_estimator(name, no_such_option=1)


def _configurables():
    return ([pytest.param(strategy_class(n), StrategyError, id=f"strategy-{n}") for n in list_strategies()]
            + [pytest.param(estimator_class(n), EstimatorError, id=f"estimator-{n}") for n in list_estimators()])


@pytest.mark.parametrize("cls,error", _configurables())
def test_every_strategy_and_estimator_declares_its_options(cls, error):
    """One contract: ``config_class`` is a dataclass whose fields are typed and documented; ``configure``
    builds it from a dict (defaults for the rest), checks a ready config (a copy), and names a bad value."""
    cfg = cls.config_class
    assert dataclasses.is_dataclass(cfg), f"{cls.__name__}: no config_class"
    specs = fields(cfg)
    for s in specs:
        assert s.doc, f"{cfg.__name__}.{s.name} has no docstring (the Lab's tooltip)"
        assert s.kind != "any", f"{cfg.__name__}.{s.name}: a type the forms and the CLI cannot check"
    defaults = cls.configure({}) if issubclass(cls, Estimator) else cls.configure()
    assert isinstance(defaults, cfg)
    copy = cls.configure(dataclasses.replace(defaults))
    assert copy == defaults and copy is not defaults
    with pytest.raises(error, match="unknown option"):
        cls.configure({"no_such_option": 1})
    for s in specs:
        bad = next((v for v in (s.lo - 1 if s.lo is not None else None, s.gt, s.hi + 1 if s.hi is not None
                                and s.kind in ("int", "float") else None, s.lt) if v is not None), None)
        if bad is not None:                                          # a declared range is enforced
            with pytest.raises(error, match=f"'{s.name}'"):
                cls.configure({s.name: bad})


def test_lowfi_options_start_from_its_own_defaults():
    """A form or a stored run passes only the fields that differ: the rest are lowfi's, not train's."""
    est = get_estimator("lowfi", dataset="synthetic", device="cpu", fidelity={"epochs": 2})
    assert est.fidelity.epochs == 2 and est.fidelity.train_subset == 1000 and est.name == "lowfi"
    assert get_estimator("train", dataset="synthetic", fidelity={"epochs": 2}).fidelity.train_subset == 4000


def test_config_range_messages():
    from nasbench_lab.estimators import Fidelity
    with pytest.raises(ValueError, match=r"fidelity option 'epochs' must be from 1 to 10,000, got 0"):
        build(Fidelity, {"epochs": 0}, "fidelity")
    with pytest.raises(ValueError, match=r"'lr' must be in \(0, 10\] \(a learning rate\), got 0"):
        build(Fidelity, {"lr": 0}, "fidelity")
    with pytest.raises(StrategyError, match=r"'baseline_decay' must be in \[0, 1\), got 1"):
        strategy_class("reinforce").configure({"baseline_decay": 1.0})
    with pytest.raises(StrategyError, match=r"'population' must be >= 2, got 1"):
        strategy_class("evolution").configure({"population": 1})
    with pytest.raises(ValueError, match=r"'skeleton' has 17 entries; at most 16"):
        build(Fidelity, {"skeleton": {str(i): 1 for i in range(17)}}, "fidelity")
