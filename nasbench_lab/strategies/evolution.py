"""Regularized (aging) evolution, and the non-aging tournament variant to contrast it with.

Real, Aggarwal, Huang & Le, "Regularized Evolution for Image Classifier Architecture Search",
AAAI 2019 (the search behind AmoebaNet), Algorithm 1:

    population <- P random architectures, each evaluated
    repeat:
        sample S members of the population uniformly at random
        parent <- the best of the sample                     (tournament selection)
        child  <- mutate(parent); evaluate child
        add child to the population; remove the OLDEST member  (aging)

Why aging ("regularized"): removing the oldest instead of the worst means that an architecture survives
only if its *descendants* keep winning tournaments. A lucky evaluation (noise) cannot sit at the top
forever, so the search favours architectures that stay good when retrained; Real et al. found it
more robust than the classic variant that removes the worst (``aging=False`` here).

Settings seen in the literature: P=100, S=25 (Real et al., CIFAR-10); P=10, S=3 (NAS-Bench-201 paper);
P=30, S=10 (NASLib). Defaults here (P=20, S=5) suit classroom budgets of 50-300 evaluations.

Every generation (every child told) emits a ``population`` event:
``{generation, members: [{id, arch, fitness, age, parent, alive}], removed: [ids]}`` where ``fitness``
is the objective, ``age`` counts generations since birth, ``parent`` is the id of the parent (None for
the random initial members) and the member that just left the population appears with ``alive=False``.
With crossover on, members also carry ``parent2``.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..config import option
from .base import MultiTrialStrategy, StrategyError


@dataclass
class EvolutionConfig:
    """Options of ``evolution`` (pass them as ``strategy_options``)."""

    population: int = option(20, lo=2)
    """P: population size (also the number of random architectures evaluated first)."""
    sample: int = option(5, lo=1)
    """S: tournament size; larger S means stronger selection pressure (S = P: always the best)."""
    crossover: float = option(0.0, lo=0.0, hi=1.0, why="a probability")
    """Probability that a child is the crossover of two tournament winners instead of a mutant."""
    aging: bool = True
    """True: remove the oldest member (regularized evolution). False: remove the worst (tournament GA)."""
    snapshot_every: int = option(1, lo=1)
    """Emit the population event every this many generations (1: every generation)."""

    def check(self) -> None:
        if self.sample > self.population:
            raise StrategyError(f"evolution: sample must be an integer in [1, population={self.population}], "
                                f"got {self.sample!r}")


@dataclass
class Member:
    id: int
    arch: object
    fitness: float
    born: int
    parent: int | None
    parent2: int | None = None


class RegularizedEvolution(MultiTrialStrategy):
    name = "evolution"
    config_class = EvolutionConfig
    summary = "regularized (aging) evolution: tournament selection + mutation, oldest dies"
    asynchronous = True

    def __init__(self, space, rng, emit, **options):
        super().__init__(space, rng, emit, **options)
        self.population: deque[Member] = deque()
        self.generation = 0              # children told so far (initial random members included)
        self._next_id = 0
        self._in_flight = 0              # asked, not yet told (several when evaluations run in parallel)
        self._parents: dict = {}         # architecture -> parent ids of the asked copies, FIFO

    # ------------------------------------------------------------------ ask
    def _tournament(self) -> Member:
        k = min(self.config.sample, len(self.population))
        contenders = self.rng.sample(list(self.population), k)
        return max(contenders, key=lambda m: m.fitness)

    def ask(self):
        cfg = self.config
        # Why count the in-flight ones: with several workers the first P asks must all be random
        # although none has come back yet; sequentially this is exactly "P random, then evolve".
        if self.generation + self._in_flight < cfg.population or not self.population:
            arch, parents = self.space.sample(self.rng), (None, None)
        else:
            p1 = self._tournament()
            if cfg.crossover and self.rng.random() < cfg.crossover:
                p2 = self._tournament()
                if p2.id != p1.id:
                    arch, parents = self.space.crossover(p1.arch, p2.arch, self.rng), (p1.id, p2.id)
                    # Why: two similar parents often give back one of them; evaluating a copy wastes budget.
                    canon = self.space.canonical(arch)
                    if canon in (self.space.canonical(p1.arch), self.space.canonical(p2.arch)):
                        arch = self.space.mutate(arch, self.rng)
                else:
                    arch, parents = self.space.mutate(p1.arch, self.rng), (p1.id, None)
            else:
                arch, parents = self.space.mutate(p1.arch, self.rng), (p1.id, None)
        self._parents.setdefault(arch, []).append(parents)
        self._in_flight += 1
        return arch

    # ------------------------------------------------------------------ tell
    def tell(self, arch, evaluation, objective: float) -> None:
        queue = self._parents.get(arch)
        if queue:
            parent, parent2 = queue.pop(0)
            self._in_flight -= 1
            if not queue:
                del self._parents[arch]
        else:
            parent, parent2 = None, None          # told without being asked: a replayed evaluation (resume)
        child = Member(self._next_id, arch, float(objective), self.generation, parent, parent2)
        self._next_id += 1
        self.population.append(child)
        self.generation += 1
        removed = []
        if len(self.population) > self.config.population:
            if self.config.aging:
                removed.append(self.population.popleft())
            else:
                # Non-aging: the worst dies (the oldest among equals, so ties do not favour newcomers).
                worst = min(self.population, key=lambda m: (m.fitness, m.born))
                self.population.remove(worst)
                removed.append(worst)
        if self.generation % self.config.snapshot_every == 0:
            self._snapshot(removed)

    def _member(self, m: Member, alive: bool) -> dict:
        d = {"id": m.id, "arch": self.space.to_str(m.arch), "fitness": m.fitness, "age": self.generation - 1 - m.born,
             "parent": m.parent, "alive": alive}
        if self.config.crossover:
            d["parent2"] = m.parent2
        return d

    def _snapshot(self, removed: list) -> None:
        members = [self._member(m, True) for m in self.population] + [self._member(m, False) for m in removed]
        self.emit("population", generation=self.generation, members=members, removed=[m.id for m in removed],
                  aging=self.config.aging)
