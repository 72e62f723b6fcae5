"""Random search: sample architectures uniformly from the space.

The baseline every NAS result must beat, and a surprisingly strong one (Li & Talwalkar, "Random Search
and Reproducibility for Neural Architecture Search", UAI 2019; on NAS-Bench-201 it is within half a
point of the best multi-trial methods).

Why ``dedupe``: in a small space (NB201 has 6,466 distinct cells) uniform sampling soon proposes cells
that were already scored; re-scoring them wastes budget, so by default we redraw (up to a limit) when a
sample, after isomorphism removal, was seen before.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import MultiTrialStrategy


@dataclass
class RandomConfig:
    """Options of ``random`` (pass them as ``strategy_options``)."""

    dedupe: bool = True
    """Redraw a sample whose canonical form was already scored (see the module text)."""


class RandomSearch(MultiTrialStrategy):
    name = "random"
    config_class = RandomConfig
    summary = "uniform samples from the space (the baseline)"
    asynchronous = True          # samples do not depend on results: any number may be in flight

    def __init__(self, space, rng, emit, **options):
        super().__init__(space, rng, emit, **options)
        self.dedupe = self.config.dedupe
        self.seen: set = set()

    def ask(self):
        arch = self.space.sample(self.rng)
        if self.dedupe:
            for _ in range(100):                      # bounded: a nearly exhausted space still answers
                if self.space.canonical(arch) not in self.seen:
                    break
                arch = self.space.sample(self.rng)
            self.seen.add(self.space.canonical(arch))
        return arch
