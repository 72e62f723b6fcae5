"""Ranking agreement: does a cheap score order architectures the way real training does?

The question behind every performance estimator (one-shot weights, low fidelity, zero-cost proxies):
a search only needs the *order* of candidates to be right. Yu et al. ("Evaluating the Search Phase of
Neural Architecture Search", ICLR 2020) found weight-sharing rankings with Kendall tau near 0; these
tools measure that on the lab's own runs.

* ``kendall_tau``: tau-b (ties corrected), equal to ``scipy.stats.kendalltau``;
* ``spearman``: Pearson correlation of the (average-tie) ranks, equal to ``scipy.stats.spearmanr``;
* ``top_k_overlap``: the share of the true top-k that the estimate also puts in its top-k;
* ``regret``: how much true accuracy is lost by trusting the estimate's pick;
* ``compare_rankings``: all of them for paired one-shot and from-scratch scores.

Pure numpy; no scipy at run time (the tests compare against scipy).
"""
from __future__ import annotations

import math

import numpy as np

from .errors import RankingError


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise RankingError(f"score lists differ in length: {x.size} vs {y.size}")
    return x, y


def _tie_pairs(v: np.ndarray) -> int:
    """Number of pairs tied in v: sum over tie groups of t(t-1)/2."""
    _, counts = np.unique(v, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def kendall_tau(a, b) -> float:
    """Kendall's tau-b: (concordant - discordant) / sqrt((n0 - n1)(n0 - n2)), where n1, n2 count the
    pairs tied in a and in b. NaN when a list is constant, has fewer than 2 items, or contains NaN
    (scipy's default nan_policy='propagate')."""
    x, y = _pair(a, b)
    n = x.size
    if n < 2 or np.isnan(x).any() or np.isnan(y).any():
        return float("nan")
    i, j = np.triu_indices(n, k=1)                   # all pairs; O(n^2) memory is fine at NAS sizes
    # the sign of a comparison, not of a difference: inf - inf is NaN, but two equal infinities are a tie
    s = (np.greater(x[i], x[j]).astype(np.int8) - np.less(x[i], x[j])) * \
        (np.greater(y[i], y[j]).astype(np.int8) - np.less(y[i], y[j]))
    n0 = n * (n - 1) // 2
    denom = math.sqrt(float(n0 - _tie_pairs(x)) * float(n0 - _tie_pairs(y)))
    if denom == 0:
        return float("nan")
    return float(np.clip(s.sum() / denom, -1.0, 1.0))


def kendall_tau_finite(a, b) -> float | None:
    """Kendall tau-b over the pairs where both values are finite (None with fewer than 3): scipy's
    O(n log n) one when installed (6,466 cells make 21 million pairs), else ``kendall_tau``."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m = np.isfinite(x) & np.isfinite(y)
    if m.sum() < 3:
        return None
    try:
        from scipy.stats import kendalltau             # optional and heavy: the core does not depend on scipy
    except ImportError:
        return float(kendall_tau(x[m], y[m]))
    return float(kendalltau(x[m], y[m]).statistic)


def rank(v) -> np.ndarray:
    """Ranks 1..n, ties given their average rank (as scipy.stats.rankdata's default)."""
    v = np.asarray(v, dtype=float).ravel()
    order = np.argsort(v, kind="mergesort")
    sv = v[order]
    ranks = np.empty(v.size)
    start = 0
    for k in range(1, v.size + 1):
        if k == v.size or sv[k] != sv[start]:
            ranks[order[start:k]] = (start + k + 1) / 2.0   # mean of positions start+1 .. k
            start = k
    return ranks


def spearman(a, b) -> float:
    """Spearman's rho: the Pearson correlation of the average-tie ranks. NaN for constant input."""
    x, y = _pair(a, b)
    if x.size < 2 or np.isnan(x).any() or np.isnan(y).any():
        return float("nan")
    rx, ry = rank(x), rank(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx ** 2).sum() * (ry ** 2).sum()))
    return float(np.clip((rx * ry).sum() / denom, -1.0, 1.0)) if denom else float("nan")


def _top(v: np.ndarray, k: int) -> set:
    # stable order: on equal scores the earlier item wins, so the result is deterministic
    return set(np.argsort(-v, kind="mergesort")[:k].tolist())


def top_k_overlap(estimate, truth, k: int = 5) -> float:
    """|top-k by estimate ∩ top-k by truth| / k (1.0: the estimate finds exactly the true top-k)."""
    x, y = _pair(estimate, truth)
    if not 1 <= k <= x.size:
        raise RankingError(f"k must be between 1 and the number of architectures ({x.size}), got {k}")
    return len(_top(x, k) & _top(y, k)) / k


def regret(estimate, truth, k: int = 1) -> float:
    """Best true score minus the best true score among the estimate's top-k (0: no loss). With k > 1
    it is the regret after re-training the estimate's top-k from scratch (SPOS' correction)."""
    x, y = _pair(estimate, truth)
    if not 1 <= k <= x.size:
        raise RankingError(f"k must be between 1 and the number of architectures ({x.size}), got {k}")
    return float(y.max() - max(y[i] for i in _top(x, k)))


def compare_rankings(oneshot_scores, scratch_scores, k: int = 5) -> dict:
    """All agreement figures for the same architectures scored two ways.

    Both arguments are sequences in the same order, or dicts keyed by architecture (then compared on
    their common keys, which must be at least two). Returns n, k, kendall_tau, spearman, top_k_overlap,
    regret (of the one-shot pick), regret_top_k (after re-training its top-k).
    """
    if isinstance(oneshot_scores, dict) or isinstance(scratch_scores, dict):
        if not (isinstance(oneshot_scores, dict) and isinstance(scratch_scores, dict)):
            raise RankingError("give both score collections as dicts keyed by architecture, or both as lists")
        keys = [a for a in oneshot_scores if a in scratch_scores]
        oneshot_scores = [oneshot_scores[a] for a in keys]
        scratch_scores = [scratch_scores[a] for a in keys]
    x, y = _pair(oneshot_scores, scratch_scores)
    if x.size < 2:
        raise RankingError(f"need at least two architectures scored both ways, got {x.size}")
    k = min(k, x.size)
    return {"n": int(x.size), "k": k, "kendall_tau": kendall_tau(x, y), "spearman": spearman(x, y),
            "top_k_overlap": top_k_overlap(x, y, k), "regret": regret(x, y, 1), "regret_top_k": regret(x, y, k)}
