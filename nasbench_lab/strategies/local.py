"""Local search: hill climbing over the neighbourhood graph, with random restarts.

White, Nolen & Savani, "Local Search is State of the Art for Neural Architecture Search Benchmarks",
8th ICML Workshop on AutoML, 2020. Their Algorithm 1:

    v <- a random architecture, evaluated
    repeat:
        evaluate every neighbour of v (architectures one elementary change away: ``neighbours()``)
        w <- the best neighbour
        if f(w) <= f(v): v is a local optimum  -> here: restart from a new random architecture
        else: v <- w

Why it teaches well: it is the simplest method that exploits the *locality* of a search space (a
neighbour of a good cell tends to be good) and on NAS-Bench-101/201 it matches or beats far more
elaborate methods, which says as much about those benchmarks as about the method. On spaces with
many neighbours per architecture (DARTS: ~120) one step costs many evaluations; ``first_improvement``
moves as soon as a better neighbour is found (neighbours tried in random order), the usual remedy.

Why a memory of seen architectures (by ``canonical`` form): neighbourhoods overlap, and re-evaluating
a known architecture spends budget on nothing; its known fitness is reused instead.

Emits a ``local`` event at each move: ``{step, move ('start' | 'improve' | 'restart'), arch, fitness,
neighbours (size of the current neighbourhood), restarts}``.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import MultiTrialStrategy


@dataclass
class LocalConfig:
    """Options of ``local`` (pass them as ``strategy_options``)."""

    first_improvement: bool = False
    """False: evaluate the whole neighbourhood, move to the best (White et al.). True: move to the first
    better neighbour found."""


class LocalSearch(MultiTrialStrategy):
    name = "local"
    config_class = LocalConfig
    summary = "hill climbing over neighbours() with random restarts (White et al. 2020)"

    def __init__(self, space, rng, emit, **options):
        super().__init__(space, rng, emit, **options)
        self.seen: dict = {}                  # canonical form -> objective
        self.current = None                   # (arch, fitness) of the hill climber, None: (re)start
        self.best_nb = None                   # best neighbour of ``current`` so far: (arch, fitness)
        self.queue: list = []                 # neighbours of ``current`` still to evaluate
        self.n_neighbours = 0
        self.restarts, self.steps = 0, 0

    def ask(self):
        while self.current is not None:
            while self.queue:
                arch = self.queue.pop()
                # Why check again: two neighbours may be isomorphic, or one was evaluated since queued.
                if self.space.canonical(arch) not in self.seen:
                    return arch
            self._neighbourhood_done()         # every remaining neighbour was known: move or restart
        arch = self.space.sample(self.rng)
        for _ in range(100):                   # prefer an unseen start (bounded: small spaces run out)
            if self.space.canonical(arch) not in self.seen:
                break
            arch = self.space.sample(self.rng)
        return arch

    def tell(self, arch, evaluation, objective: float) -> None:
        self.seen[self.space.canonical(arch)] = float(objective)
        if self.current is None:
            self._move(arch, float(objective), "start")
            return
        if self.best_nb is None or objective > self.best_nb[1]:
            self.best_nb = (arch, float(objective))
        if self.config.first_improvement and objective > self.current[1]:
            self._move(arch, float(objective), "improve")

    # ------------------------------------------------------------------ moves
    def _move(self, arch, fitness: float, move: str) -> None:
        self.current, self.best_nb = (arch, fitness), None
        self.steps += 1
        nbrs = self.space.neighbours(arch)
        self.n_neighbours = len(nbrs)
        self.queue, queued = [], set()
        for nb in nbrs:
            canon = self.space.canonical(nb)
            known = self.seen.get(canon)
            if known is None:
                if canon not in queued:
                    self.queue.append(nb)
                    queued.add(canon)
            elif self.best_nb is None or known > self.best_nb[1]:
                self.best_nb = (nb, known)    # already evaluated: reuse its fitness
        self.rng.shuffle(self.queue)           # ask() pops from the end: a random order
        self.emit("local", step=self.steps, move=move, arch=self.space.to_str(arch), fitness=fitness,
                  neighbours=self.n_neighbours, restarts=self.restarts)
        if self.config.first_improvement and self.best_nb is not None and self.best_nb[1] > fitness:
            self._move(*self.best_nb, "improve")

    def _neighbourhood_done(self) -> None:
        if self.best_nb is not None and self.best_nb[1] > self.current[1]:
            self._move(*self.best_nb, "improve")
        else:                                  # a local optimum: start again elsewhere
            self.restarts += 1
            self.emit("local", step=self.steps, move="restart", arch=self.space.to_str(self.current[0]),
                      fitness=self.current[1], neighbours=self.n_neighbours, restarts=self.restarts)
            self.current, self.best_nb, self.queue = None, None, []
