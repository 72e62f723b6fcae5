"""Hardware-aware objectives: what a strategy maximises when accuracy alone is not the goal.

The pitfall "ignoring hardware": the most accurate cell is often the slowest. Every strategy maximises
one number per evaluation (``objective(evaluation) -> float``), so any strategy becomes hardware-aware
by swapping that function. Two classic forms, after MnasNet (Tan et al., "MnasNet: Platform-Aware
Neural Architecture Search for Mobile", CVPR 2019, eq. 2):

* soft penalty:  ``acc * (metric / target) ** w``  (w = alpha below the target, beta above it;
  MnasNet uses alpha = beta = -0.07: a network twice as slow must be ~5 % more accurate to win);
* hard limit:    ``acc`` when ``metric <= limit``; otherwise a negative value, ``-(metric / limit)``.
  Why negative: every feasible network (accuracy >= 0) then beats every infeasible one, while the
  infeasible ones are still ordered by how far over the limit they are, which pulls search back
  toward the feasible region instead of leaving it blind.

Text syntax (CLI ``--objective``, ``search(objective="...")``), terms joined by ``;``::

    accuracy                              plain validation accuracy (the default)
    flops<=20e6                           hard limit (numbers accept k, M, G suffixes: 20M)
    params:target=1e5                     soft penalty with w = -0.07
    latency_ms:target=5,w=-0.15           soft penalty with another exponent
    latency_ms:target=5,alpha=0,beta=-1   MnasNet's asymmetric form
    params:target=1e5; latency_ms<=8      a soft penalty and a hard limit together
    analog_1d                             maximise another accuracy than validation's: here the CIFAR-10
                                          table's accuracy on analog hardware after a day of drift
    ptq_acc; macs<=50M                    ... with limits and penalties as above

Metrics come from ``Evaluation.metrics`` (params, macs, flops, latency_ms, and the CIFAR-10 table's
hardware accuracies ``SCORES``); an estimator that does not report a metric the objective needs makes
the run fail with an ``ObjectiveError`` naming it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .errors import ObjectiveError
from .strategies.base import default_objective

METRICS = ("params", "macs", "flops", "latency_ms")
# Accuracies an objective may maximise instead of the validation accuracy (the CIFAR-10 table reports
# them: quantized, and on simulated analog in-memory hardware, fresh and after drift; bench/analognas.py).
SCORES = ("ptq_acc", "qat_acc", "noisy_acc", "analog_acc",
          *(f"{kind}_{t}" for kind in ("noisy", "analog") for t in ("1min", "1h", "1d", "1mo")))
# Why ``macs`` is its own metric: papers (NAS-Bench-201 included) publish multiply-accumulates and call
# them FLOPs; torch and the lab count FLOPs as 2 per multiply-add. ``macs<=100M`` limits MACs.
_ALIASES = {"latency": "latency_ms", "param": "params", "flop": "flops", "mac": "macs"}
_SUFFIX = {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9}


@dataclass(frozen=True)
class Penalty:
    """MnasNet soft constraint: multiply accuracy by ``(metric / target) ** w``."""

    metric: str
    """One of METRICS."""
    target: float
    """The value at which the factor is 1."""
    alpha: float = -0.07
    """Exponent when metric <= target (0: no reward for being smaller)."""
    beta: float = -0.07
    """Exponent when metric > target (more negative: a harsher penalty)."""

    def factor(self, value: float) -> float:
        return (max(value, 1e-12) / self.target) ** (self.alpha if value <= self.target else self.beta)


@dataclass(frozen=True)
class Limit:
    """Hard constraint: ``metric <= limit``."""

    metric: str
    """One of METRICS."""
    limit: float
    """Largest allowed value."""


@dataclass(frozen=True)
class Objective:
    """Validation accuracy (or another accuracy, ``score``) with soft penalties and hard limits;
    callable on an ``Evaluation``."""

    penalties: tuple = ()
    """Penalty terms (multiplied together)."""
    limits: tuple = ()
    """Limit terms (all must hold)."""
    spec: str = field(default="accuracy", compare=False)
    """The canonical text form (stored with the run so ``resume`` rebuilds the same objective)."""
    score: str = "val_acc"
    """What is maximised before penalties: the validation accuracy, or one of ``SCORES``."""

    def metric(self, ev, name: str) -> float:
        value = ev.metrics.get(name)
        if value is None:
            have = ", ".join(k for k in METRICS + SCORES if k in ev.metrics) or "none"
            raise ObjectiveError(f"objective {self.spec!r} needs metric {name!r}, which this estimator does not "
                                 f"report (it reports: {have})")
        return float(value)

    def feasible(self, ev) -> bool:
        return all(self.metric(ev, c.metric) <= c.limit for c in self.limits)

    def __call__(self, ev) -> float:
        worst = max((self.metric(ev, c.metric) / c.limit for c in self.limits), default=0.0)
        if worst > 1.0:
            return -worst
        value = ev.val_acc if self.score == "val_acc" else self.metric(ev, self.score)
        for p in self.penalties:
            value *= p.factor(self.metric(ev, p.metric))
        return value

    def __str__(self) -> str:
        return self.spec


def _number(text: str, where: str) -> float:
    t = text.strip()
    mult = 1.0
    if t and t[-1] in _SUFFIX:
        t, mult = t[:-1], _SUFFIX[t[-1]]
    try:
        value = float(t) * mult
    except ValueError:
        raise ObjectiveError(f"{where}: {text.strip()!r} is not a number (examples: 20e6, 20M, 0.5)") from None
    if not math.isfinite(value):
        raise ObjectiveError(f"{where}: {text.strip()!r} must be finite")
    return value


def _metric(text: str, term: str) -> str:
    name = _ALIASES.get(text.strip(), text.strip())
    if name not in METRICS:
        raise ObjectiveError(f"objective term {term!r}: unknown metric {text.strip()!r}; "
                             f"choose one of: {', '.join(METRICS)}")
    return name


def _fmt(x: float) -> str:
    return repr(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def parse_objective(spec):
    """An objective from text, an ``Objective`` or a callable (returned as is); None: accuracy."""
    if spec is None:
        return default_objective
    if callable(spec):
        return spec
    if not isinstance(spec, str):
        raise ObjectiveError(f"objective must be a string such as 'flops<=20e6' or a callable, got {spec!r}")
    penalties, limits, canon = [], [], []
    score = "val_acc"
    terms = [t.strip() for t in spec.split(";")]
    if not any(terms):
        raise ObjectiveError("empty objective; use 'accuracy' or e.g. 'flops<=20e6' or 'params:target=1e5'")
    for term in terms:
        if not term:
            raise ObjectiveError(f"objective {spec!r} has an empty term (two ';' in a row?)")
        if term in ("accuracy", "val_acc", "acc"):
            continue
        if term in SCORES:
            if score != "val_acc":
                raise ObjectiveError(f"objective {spec!r} names two accuracies to maximise ({score}, {term}); "
                                     f"keep one")
            score = term
            continue
        if "<=" in term:
            name, _, rhs = term.partition("<=")
            limit = _number(rhs, f"objective term {term!r}")
            if limit <= 0:
                raise ObjectiveError(f"objective term {term!r}: the limit must be positive")
            limits.append(Limit(_metric(name, term), limit))
            canon.append(f"{limits[-1].metric}<={_fmt(limit)}")
        elif ":" in term:
            name, _, opts = term.partition(":")
            metric = _metric(name, term)
            kv = {}
            for part in filter(None, (p.strip() for p in opts.split(","))):
                key, eq, val = part.partition("=")
                key = key.strip()
                if not eq or key not in ("target", "w", "alpha", "beta"):
                    raise ObjectiveError(f"objective term {term!r}: expected target=, w=, alpha= or beta=, "
                                         f"got {part!r}")
                kv[key] = _number(val, f"objective term {term!r}, {key}")
            if "target" not in kv:
                raise ObjectiveError(f"objective term {term!r} needs target=..., e.g. '{metric}:target=1e5'")
            if kv["target"] <= 0:
                raise ObjectiveError(f"objective term {term!r}: target must be positive")
            if "w" in kv and ("alpha" in kv or "beta" in kv):
                raise ObjectiveError(f"objective term {term!r}: give either w= or alpha=/beta=, not both")
            alpha = kv.get("alpha", kv.get("w", -0.07))
            beta = kv.get("beta", kv.get("w", -0.07))
            penalties.append(Penalty(metric, kv["target"], alpha, beta))
            canon.append(f"{metric}:target={_fmt(kv['target'])},alpha={_fmt(alpha)},beta={_fmt(beta)}")
        elif any(op in term for op in ("<", ">", "=")):
            raise ObjectiveError(f"objective term {term!r}: only '<=' limits are supported (e.g. 'flops<=20e6')")
        else:
            raise ObjectiveError(f"objective term {term!r} not understood; use 'accuracy', an accuracy to "
                                 f"maximise ({', '.join(SCORES)}), 'METRIC<=LIMIT' or 'METRIC:target=T[,w=W]' "
                                 f"with METRIC in {', '.join(METRICS)}")
    if not penalties and not limits and score == "val_acc":
        return default_objective
    canon = ([score] if score != "val_acc" else []) + canon
    return Objective(tuple(penalties), tuple(limits), "; ".join(canon), score)


def objective_spec(objective) -> str | None:
    """The text form to store with a run: 'accuracy', a spec, or None for a custom callable."""
    if objective is None or objective is default_objective:
        return "accuracy"
    if isinstance(objective, Objective):
        return objective.spec
    if isinstance(objective, str):
        return objective_spec(parse_objective(objective))
    return None


__all__ = ["Limit", "METRICS", "SCORES", "Objective", "ObjectiveError", "Penalty", "objective_spec", "parse_objective"]
