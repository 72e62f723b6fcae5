"""REINFORCE with an LSTM controller: NAS as reinforcement learning.

Zoph & Le, "Neural Architecture Search with Reinforcement Learning", ICLR 2017.

An LSTM (the *controller*) writes an architecture one token at a time: at step t it reads the token it
chose at step t-1 and outputs a softmax over the options of decision t (the space's ``decisions()``:
an op per edge, an input node, a kernel size...). The architecture is trained, its validation accuracy
R is the reward, and the controller's parameters theta follow the policy gradient (Williams 1992):

    grad J(theta) ~= 1/m * sum_k  (R_k - b) * grad log P(a_k; theta)        (Zoph & Le, eq. 2)

over a batch of m sampled architectures a_k. Why the baseline b (an exponential moving average of past
rewards): it does not bias the gradient but cuts its variance enormously; without it every sampled
architecture (all have positive accuracy) would be made more likely. Why the entropy bonus (added to
the objective, as in ENAS, Pham et al. 2018): it keeps the controller from becoming certain too early
and sampling the same architecture forever.

The cost is the lesson: every reward is a trained network. Zoph & Le used 800 GPUs for 28 days.

``controller="independent"`` replaces the LSTM by one learned softmax per decision, the policy of
the NAS-Bench-201 paper's REINFORCE baseline (Dong & Yang, ICLR 2020, section 5): decisions are drawn
independently, so the policy cannot learn that two choices go well together, but it is what that
paper raced (and, with no recurrent pass per token, it samples in microseconds: a table race of 100
runs x 200 queries is then dominated by the table, not by the controller).

Emits a ``controller`` event after each update: ``{step, decisions, probs, reward_mean, baseline,
entropy}`` where ``probs`` holds, per decision, the choice probabilities averaged over the batch just
used (the policy that sampled it), and ``entropy`` is the mean entropy per decision in nats.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn

from ..config import option
from .base import MultiTrialStrategy, StrategyError, one_thread


@dataclass
class ReinforceConfig:
    """Options of ``reinforce`` (pass them as ``strategy_options``)."""

    hidden: int = option(64, lo=1)
    """LSTM hidden size (Zoph & Le: 35 units in two layers; ENAS: one layer of 64-100)."""
    lr: float = option(0.02, gt=0)
    """Adam learning rate of the controller (high, because classroom budgets are a few hundred rewards)."""
    batch: int = option(5, lo=1)
    """m: architectures per policy-gradient step."""
    baseline_decay: float = option(0.9, lo=0.0, lt=1.0)
    """b <- decay * b + (1 - decay) * mean batch reward."""
    entropy_weight: float = option(0.01, lo=0.0)
    """Weight of the entropy bonus."""
    temperature: float = option(1.0, gt=0)
    """Softmax temperature (> 1 flattens the policy: more exploration)."""
    tanh_c: float | None = None
    """If set, logits = tanh_c * tanh(logits) (ENAS): bounded logits keep the policy from saturating."""
    reward_scale: float = option(100.0, gt=0)
    """Reward = objective / reward_scale (accuracies are in percent; the learning rate assumes [0, 1])."""
    controller: Literal["lstm", "independent"] = "lstm"
    """'lstm' (Zoph & Le) or 'independent' (one softmax per decision, the NAS-Bench-201 paper's policy)."""


class Controller(nn.Module):
    """An LSTM that emits one categorical choice per decision, feeding each choice back as input."""

    def __init__(self, sizes: list[int], hidden: int, temperature: float = 1.0, tanh_c: float | None = None):
        super().__init__()
        self.sizes, self.temperature, self.tanh_c = list(sizes), temperature, tanh_c
        # One embedding row per (decision, choice) plus a learned start token (row 0).
        self.offsets = [1 + sum(self.sizes[:t]) for t in range(len(self.sizes))]
        self.embed = nn.Embedding(1 + sum(self.sizes), hidden)
        self.cell = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, k) for k in self.sizes)
        for p in self.parameters():            # Zoph & Le / ENAS: uniform(-0.1, 0.1) initialisation
            nn.init.uniform_(p, -0.1, 0.1)

    def _logits(self, t: int, h: torch.Tensor) -> torch.Tensor:
        logits = self.heads[t](h) / self.temperature
        return self.tanh_c * torch.tanh(logits) if self.tanh_c else logits

    @torch.no_grad()
    def sample(self, rng) -> list[int]:
        """One architecture's decisions, drawn with the caller's ``random.Random`` (reproducible)."""
        x, state, out = self.embed.weight[:1], None, []
        for t in range(len(self.sizes)):
            state = self.cell(x, state)
            choice = _draw(torch.softmax(self._logits(t, state[0]), dim=-1)[0].tolist(), rng.random())
            out.append(choice)
            x = self.embed.weight[self.offsets[t] + choice].unsqueeze(0)
        return out

    def score(self, actions: torch.Tensor):
        """Teacher-forced pass over a batch [B, T] of decisions: log-probs [B], entropies [B, T], probs."""
        b = actions.shape[0]
        x, state = self.embed.weight[:1].expand(b, -1), None
        logp, ent, probs = [], [], []
        for t in range(len(self.sizes)):
            state = self.cell(x, state)
            log_p = torch.log_softmax(self._logits(t, state[0]), dim=-1)
            logp.append(log_p.gather(1, actions[:, t:t + 1]).squeeze(1))
            ent.append(-(log_p.exp() * log_p).sum(-1))
            probs.append(log_p.detach().exp().mean(0))
            x = self.embed(self.offsets[t] + actions[:, t])
        return torch.stack(logp, 1).sum(1), torch.stack(ent, 1), probs


class Independent(nn.Module):
    """One softmax per decision (logits start at 0: the uniform policy); the same interface as
    ``Controller``. Why the probabilities are cached: they change only at an update, and drawing from a
    Python list costs microseconds where a torch softmax per token costs tens of them."""

    def __init__(self, sizes: list[int], hidden: int = 0, temperature: float = 1.0, tanh_c: float | None = None):
        super().__init__()
        self.sizes, self.temperature, self.tanh_c = list(sizes), temperature, tanh_c
        self.logits = nn.ParameterList(nn.Parameter(torch.zeros(k)) for k in self.sizes)
        self._probs = None

    def _log_probs(self, t: int) -> torch.Tensor:
        z = self.logits[t] / self.temperature
        return torch.log_softmax(self.tanh_c * torch.tanh(z) if self.tanh_c else z, dim=-1)

    @torch.no_grad()
    def sample(self, rng) -> list[int]:
        if self._probs is None:
            self._probs = [self._log_probs(t).exp().tolist() for t in range(len(self.sizes))]
        return [_draw(probs, rng.random()) for probs in self._probs]

    def score(self, actions: torch.Tensor):
        self._probs = None                      # the caller is about to update the logits
        logp, ent, probs = [], [], []
        for t in range(len(self.sizes)):
            log_p = self._log_probs(t)
            logp.append(log_p[actions[:, t]])
            ent.append(-(log_p.exp() * log_p).sum().expand(actions.shape[0]))
            probs.append(log_p.detach().exp())
        return torch.stack(logp, 1).sum(1), torch.stack(ent, 1), probs


def _draw(probs: list[float], u: float) -> int:
    """Inverse-CDF draw of one choice for a uniform ``u`` in [0, 1)."""
    acc = 0.0
    for j, p in enumerate(probs):
        acc += p
        if u < acc:
            return j
    return len(probs) - 1


CONTROLLERS = {"lstm": Controller, "independent": Independent}


class Reinforce(MultiTrialStrategy):
    name = "reinforce"
    config_class = ReinforceConfig
    summary = "LSTM controller trained with REINFORCE (Zoph & Le 2017)"
    # Why asynchronous is allowed: Zoph & Le ran hundreds of children in parallel with stale policies;
    # a batch may then mix samples from the previous policy, a small, accepted bias.
    asynchronous = True

    def __init__(self, space, rng, emit, **options):
        super().__init__(space, rng, emit, **options)
        self.decisions = space.decisions()
        if not self.decisions:
            raise StrategyError(f"reinforce: space {space.name!r} has no decisions to emit")
        # The controller's initial weights come from the run's rng, without touching torch's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(rng.getrandbits(63))
            self.controller = CONTROLLERS[self.config.controller]([len(d.choices) for d in self.decisions], self.config.hidden,
                                         self.config.temperature, self.config.tanh_c)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=self.config.lr)
        self.baseline: float | None = None
        self.step = 0
        self._batch: list[tuple[list[int], float]] = []

    def ask(self):
        with one_thread():
            return self.space.from_decisions(self.controller.sample(self.rng))

    def tell(self, arch, evaluation, objective: float) -> None:
        # Why recompute the decisions from the architecture: a replayed (resumed) evaluation arrives
        # without the sample that produced it; the log-probability is recomputed at update time anyway.
        reward = float(objective) / self.config.reward_scale
        if not math.isfinite(reward):
            raise StrategyError(f"reinforce: non-finite reward {objective!r} for {self.space.to_str(arch)}")
        self._batch.append((self.space.to_decisions(arch), reward))
        if len(self._batch) >= self.config.batch:
            with one_thread():
                self._update()

    def _update(self) -> None:
        cfg = self.config
        actions = torch.tensor([a for a, _ in self._batch], dtype=torch.long)
        rewards = torch.tensor([r for _, r in self._batch], dtype=torch.float32)
        self._batch = []
        mean_r = float(rewards.mean())
        if self.baseline is None:
            # Why start at the first batch mean: from 0, every early sample would look excellent.
            self.baseline = mean_r
        logp, ent, probs = self.controller.score(actions)
        advantage = rewards - self.baseline
        loss = -(advantage * logp).mean() - cfg.entropy_weight * ent.sum(1).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.baseline = cfg.baseline_decay * self.baseline + (1 - cfg.baseline_decay) * mean_r
        self.step += 1
        self.emit("controller", step=self.step, decisions=[d.name for d in self.decisions],
                  probs=[[round(float(p), 5) for p in row] for row in probs],
                  reward_mean=mean_r * cfg.reward_scale, baseline=self.baseline * cfg.reward_scale,
                  entropy=float(ent.detach().mean()))
