"""Latency models: how long a matched request waits before its first byte.

Every model draws from an injected ``random.Random`` so that a scenario seed makes the
delays reproducible. Values are seconds; ``cap`` clamps each draw.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()


@dataclass(frozen=True)
class Fixed:
    """Always the same delay."""

    seconds: float

    def sample(self, rng: random.Random) -> float:
        """One delay, in seconds."""
        return self.seconds

    def describe(self) -> str:
        """Human-readable summary."""
        return f"fixed {_ms(self.seconds)}"


@dataclass(frozen=True)
class Uniform:
    """Uniform between ``low`` and ``high``."""

    low: float
    high: float

    def sample(self, rng: random.Random) -> float:
        """One delay, in seconds."""
        return rng.uniform(self.low, self.high)

    def describe(self) -> str:
        """Human-readable summary."""
        return f"uniform {_ms(self.low)}-{_ms(self.high)}"


@dataclass(frozen=True)
class LogNormal:
    """Log-normal with the given median and sigma (of the underlying normal)."""

    median: float
    sigma: float

    def sample(self, rng: random.Random) -> float:
        """One delay, in seconds."""
        return self.median * math.exp(self.sigma * rng.gauss(0.0, 1.0))

    def describe(self) -> str:
        """Human-readable summary."""
        return f"lognormal median {_ms(self.median)} sigma {self.sigma:g}"


@dataclass(frozen=True)
class Percentiles:
    """A distribution given by its percentiles, e.g. p50 300 ms, p95 2 s, p99 8 s.

    Between two given percentiles the log of the delay is interpolated linearly in
    normal-quantile space, so each segment is a piece of a log-normal (three points
    taken from a log-normal give back that log-normal exactly). Beyond the first and
    the last point the nearest segment is extended; with a single point the delay is
    fixed.
    """

    points: tuple[tuple[float, float], ...]  # (probability in ]0, 1[, seconds), sorted

    def quantile(self, p: float) -> float:
        """The delay at cumulative probability ``p``."""
        if len(self.points) == 1:
            return self.points[0][1]
        z = _NORMAL.inv_cdf(min(max(p, 1e-12), 1 - 1e-12))
        zs = [_NORMAL.inv_cdf(q) for q, _ in self.points]
        logs = [math.log(v) for _, v in self.points]
        index = next((i for i in range(1, len(zs)) if z <= zs[i]), len(zs) - 1)
        z0, z1, l0, l1 = zs[index - 1], zs[index], logs[index - 1], logs[index]
        return math.exp(l0 + (l1 - l0) * (z - z0) / (z1 - z0))

    def sample(self, rng: random.Random) -> float:
        """One delay, in seconds."""
        return self.quantile(rng.random())

    def describe(self) -> str:
        """Human-readable summary."""
        return "percentiles " + ", ".join(f"p{p * 100:g} {_ms(v)}" for p, v in self.points)


@dataclass(frozen=True)
class Latency:
    """A base model, an optional cap, and an optional tail spike (a mixture)."""

    model: object
    cap: float | None = None
    spike_probability: float = 0.0
    spike: "Latency | None" = None

    def sample(self, rng: random.Random) -> float:
        """One delay, in seconds: the spike's with its probability, else the base's."""
        if self.spike is not None and rng.random() < self.spike_probability:
            value = self.spike.sample(rng)
        else:
            value = self.model.sample(rng)
        value = max(0.0, value)
        return min(value, self.cap) if self.cap is not None else value

    def describe(self) -> str:
        """Human-readable summary, e.g. ``lognormal median 300ms sigma 0.6, cap 10s``."""
        text = self.model.describe()
        if self.cap is not None:
            text += f", cap {_ms(self.cap)}"
        if self.spike is not None:
            text += f", spike {self.spike_probability:.0%}: {self.spike.describe()}"
        return text


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"
