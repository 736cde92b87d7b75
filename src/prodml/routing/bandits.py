"""Bandit policies: traffic weights learnt from the rewards that feedback brings.

A policy turns the shared arm statistics (kept in SQL, so every worker sees the same numbers)
into traffic weights; the router then assigns by those weights, like any split. Weights are
recomputed every ``update_interval_s`` rather than per request, which keeps ``choose`` on its
microsecond path and lets a unit key keep a user on one arm between updates (GrowthBook's
design). Every arm keeps at least ``floor`` of the traffic, so no arm starves and estimates for
all of them keep improving.

- ``thompson`` with ``binary`` rewards: Beta(1 + successes, 1 + failures) posteriors; the weight
  of an arm is the Monte-Carlo probability that it is the best (10,000 joint draws).
- ``thompson`` with ``continuous`` rewards: Gaussian posteriors with a N(0, 100^2) prior
  (GrowthBook's), the same probability of being best.
- ``ucb1``: all traffic (less the floors) to the arm with the highest mean + sqrt(2 ln N / n);
  untried arms first.
- ``epsilon_greedy``: 1 - epsilon to the best mean, epsilon spread over every arm.

>>> import numpy as np
>>> arms = {"a": ArmStats(100, 100, 10.0, 10.0), "b": ArmStats(100, 100, 60.0, 60.0)}
>>> w = bandit_weights(BanditStrategy(kind="bandit", floor=0.05), arms, np.random.default_rng(0))
>>> w["b"] > 0.9, w["a"] >= 0.05
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from prodml.routing.spec import BanditStrategy

_DRAWS = 10_000
_PRIOR_VARIANCE = 100.0**2


@dataclass(frozen=True)
class ArmStats:
    """What the store keeps per arm: requests served, rewards received and their sums."""

    served: int = 0
    rewarded: int = 0
    reward_sum: float = 0.0
    reward_sum_squares: float = 0.0

    @property
    def mean(self) -> float:
        return self.reward_sum / self.rewarded if self.rewarded else 0.0

    @property
    def variance(self) -> float:
        """Unbiased sample variance of the rewards; 1.0 below two rewards (an uninformed guess)."""
        if self.rewarded < 2:
            return 1.0
        n = self.rewarded
        return max((self.reward_sum_squares - self.reward_sum**2 / n) / (n - 1), 1e-12)


def bandit_weights(
    strategy: BanditStrategy, arms: Mapping[str, ArmStats], rng: np.random.Generator
) -> dict[str, float]:
    """Traffic shares (summing to 1, each >= the floor) for the arms named in ``arms``."""
    names = list(arms)
    stats = [arms[n] for n in names]
    if strategy.policy == "thompson":
        raw = _thompson(stats, strategy.reward == "binary", rng)
    elif strategy.policy == "ucb1":
        raw = _ucb1(stats)
    else:
        raw = _epsilon_greedy(stats, strategy.epsilon)
    return dict(zip(names, with_floor(raw, strategy.floor), strict=True))


def with_floor(weights: Sequence[float], floor: float) -> list[float]:
    """Give every arm ``floor`` and share the rest by ``weights``: w = floor + (1 - k floor) w."""
    total = sum(weights)
    k = len(weights)
    free = 1.0 - k * floor
    return [floor + free * w / total for w in weights]


def _thompson(stats: Sequence[ArmStats], binary: bool, rng: np.random.Generator) -> list[float]:
    if binary:
        # Rewards in [0, 1] count as fractional successes; clamp guards against bad feedback.
        successes = np.array([min(max(s.reward_sum, 0.0), s.rewarded) for s in stats])
        failures = np.array([s.rewarded for s in stats], dtype=float) - successes
        draws = rng.beta(1.0 + successes, 1.0 + failures, size=(_DRAWS, len(stats)))
    else:
        n = np.array([s.rewarded for s in stats], dtype=float)
        noise = np.array([s.variance for s in stats])
        precision = 1.0 / _PRIOR_VARIANCE + n / noise
        mean = (np.array([s.reward_sum for s in stats]) / noise) / precision
        draws = rng.normal(mean, 1.0 / np.sqrt(precision), size=(_DRAWS, len(stats)))
    wins = np.bincount(np.argmax(draws, axis=1), minlength=len(stats))
    return [float(w) / _DRAWS for w in wins]


def _ucb1(stats: Sequence[ArmStats]) -> list[float]:
    untried = [i for i, s in enumerate(stats) if s.rewarded == 0]
    if untried:
        return _one_hot(len(stats), untried)
    total = sum(s.rewarded for s in stats)
    scores = [s.mean + math.sqrt(2.0 * math.log(total) / s.rewarded) for s in stats]
    best = max(scores)
    return _one_hot(len(stats), [i for i, x in enumerate(scores) if x == best])


def _epsilon_greedy(stats: Sequence[ArmStats], epsilon: float) -> list[float]:
    means = [s.mean if s.rewarded else math.inf for s in stats]  # untried arms look best
    best = max(means)
    greedy = _one_hot(len(stats), [i for i, m in enumerate(means) if m == best])
    return [(1.0 - epsilon) * g + epsilon / len(stats) for g in greedy]


def _one_hot(k: int, winners: Sequence[int]) -> list[float]:
    # Ties share the traffic equally rather than favouring the first arm listed.
    share = 1.0 / len(winners)
    return [share if i in winners else 0.0 for i in range(k)]
