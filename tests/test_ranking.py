"""Ranking tools against scipy (Kendall tau-b with ties, Spearman) and against brute force (top-k
overlap, regret); ``compare_rankings`` on lists and on dicts."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from nasbench_lab.ranking import RankingError, compare_rankings, kendall_tau, rank, regret, spearman, top_k_overlap

scipy_stats = pytest.importorskip("scipy.stats")


def random_pairs(seed=0, trials=200):
    rng = np.random.default_rng(seed)
    for t in range(trials):
        n = int(rng.integers(2, 40))
        if t % 3 == 0:                                  # continuous: no ties
            yield rng.random(n), rng.random(n)
        elif t % 3 == 1:                                # heavy ties on both sides (accuracies on a coarse grid)
            yield rng.integers(0, 4, n).astype(float), rng.integers(0, 5, n) * 0.5
        else:                                           # correlated, ties on one side
            a = rng.random(n)
            yield a, np.round(a + 0.3 * rng.random(n), 1)


def same(x, y):
    return (math.isnan(x) and math.isnan(y)) or abs(x - y) < 1e-12


def test_kendall_tau_equals_scipy_on_random_data_with_ties():
    for a, b in random_pairs():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = scipy_stats.kendalltau(a, b).statistic   # tau-b, ties corrected
        assert same(kendall_tau(a, b), float(expected)), (a, b)


def test_spearman_equals_scipy():
    for a, b in random_pairs(1):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")              # scipy warns on constant input (then NaN, as ours)
            expected = scipy_stats.spearmanr(a, b).statistic
        assert same(spearman(a, b), float(expected)), (a, b)
    assert np.array_equal(rank([3, 1, 3, 2]), scipy_stats.rankdata([3, 1, 3, 2]))


def test_kendall_tau_by_pair_counting_on_a_small_case():
    a, b = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]              # 8 concordant, 2 discordant pairs of 10
    assert kendall_tau(a, b) == pytest.approx(0.6)
    assert kendall_tau(a, a) == 1.0 and kendall_tau(a, a[::-1]) == -1.0
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3])) and math.isnan(kendall_tau([1, float("nan")], [1, 2]))


def brute_top_k(estimate, truth, k):
    """Top-k by full sort with index tie-break, counted by brute force."""
    top = lambda v: {i for i, _ in sorted(enumerate(v), key=lambda t: (-t[1], t[0]))[:k]}  # noqa: E731
    return len(top(estimate) & top(truth)) / k


def test_top_k_overlap_and_regret_against_brute_force():
    rng = np.random.default_rng(2)
    for _ in range(100):
        n = int(rng.integers(2, 25))
        est, tru = rng.integers(0, 6, n).astype(float), rng.random(n)
        k = int(rng.integers(1, n + 1))
        assert top_k_overlap(est, tru, k) == brute_top_k(est, tru, k)
        picks = sorted(range(n), key=lambda i: (-est[i], i))[:k]
        assert regret(est, tru, k) == pytest.approx(max(tru) - max(tru[i] for i in picks))
    assert regret([3, 2, 1], [1, 2, 3]) == 2 and regret([1, 2, 3], [1, 2, 3]) == 0
    with pytest.raises(RankingError, match="k must be"):
        top_k_overlap([1, 2], [1, 2], 3)


def test_compare_rankings():
    one = {"a": 50.0, "b": 60.0, "c": 70.0, "d": 65.0, "x": 1.0}
    scratch = {"a": 80.0, "b": 85.0, "c": 90.0, "d": 91.0}
    r = compare_rankings(one, scratch, k=2)
    assert r["n"] == 4 and r["k"] == 2
    assert r["kendall_tau"] == pytest.approx(kendall_tau([50, 60, 70, 65], [80, 85, 90, 91]))
    assert r["top_k_overlap"] == 1.0 and r["regret"] == pytest.approx(1.0) and r["regret_top_k"] == 0.0
    assert compare_rankings([1, 2, 3], [1, 2, 3])["spearman"] == 1.0
    with pytest.raises(RankingError, match="length"):
        compare_rankings([1, 2, 3], [1, 2])
    with pytest.raises(RankingError, match="both"):
        compare_rankings(one, [1, 2])
    with pytest.raises(RankingError, match="at least two"):
        compare_rankings({"a": 1}, {"a": 2})
    for perm in itertools.permutations(range(4)):      # tau of a permutation against the identity
        inv = sum(1 for i, j in itertools.combinations(range(4), 2) if perm[i] > perm[j])
        assert kendall_tau(range(4), perm) == pytest.approx(1 - 4 * inv / 12)


def test_kendall_tau_counts_equal_infinities_as_a_tie():
    from scipy.stats import kendalltau
    inf = float("inf")
    for a, b in (([inf, inf, 1, 2], [1, 2, 3, 4]), ([-inf, 3, -inf, inf], [4, 3, 2, 1])):
        assert kendall_tau(a, b) == pytest.approx(kendalltau(a, b).statistic)
