"""Chaos latency models: distributions checked on seeded samples (no HTTP, no XML).

Tolerances are derived from the sample size (about four standard errors), and every
sample uses a fixed seed, so the tests are exact to reproduce and not flaky.
"""
from __future__ import annotations

import math
import random
from statistics import NormalDist, fmean

import pytest

from simulator.chaos.latency import Fixed, Latency, LogNormal, Percentiles, Uniform

NORMAL = NormalDist()
K = 4.0  # standard errors allowed


def draws(model, n: int, seed: int = 12345) -> list[float]:
    rng = random.Random(seed)
    return [model.sample(rng) for _ in range(n)]


def empirical_quantile(values_sorted: list[float], p: float) -> float:
    return values_sorted[min(len(values_sorted) - 1, int(p * len(values_sorted)))]


def quantile_se_in_z(p: float, n: int) -> float:
    """Standard error of an empirical p-quantile, in standard-normal units."""
    return math.sqrt(p * (1 - p) / n) / NORMAL.pdf(NORMAL.inv_cdf(p))


# -- Fixed ------------------------------------------------------------------------------

def test_fixed_is_always_the_same_and_needs_no_randomness():
    model = Fixed(0.25)
    assert {model.sample(random.Random(i)) for i in range(50)} == {0.25}
    assert model.sample(None) == 0.25
    assert model.describe() == "fixed 250ms"
    assert Latency(Fixed(2.0)).sample(None) == 2.0
    assert Latency(Fixed(2.0)).describe() == "fixed 2s"


# -- Uniform ----------------------------------------------------------------------------

def test_uniform_stays_within_bounds_and_has_the_right_mean_and_spread():
    low, high, n = 0.1, 2.0, 20_000
    values = draws(Uniform(low, high), n)
    assert low <= min(values) and max(values) <= high
    # the sample reaches close to both ends (missing 50/n of the range: odds e^-50)
    assert min(values) < low + (high - low) * 50 / n
    assert max(values) > high - (high - low) * 50 / n
    sd = (high - low) / math.sqrt(12)
    assert abs(fmean(values) - (low + high) / 2) < K * sd / math.sqrt(n)
    # a quarter of the draws in each quarter of the interval
    quarter = sum(1 for v in values if v < low + (high - low) / 4) / n
    assert abs(quarter - 0.25) < K * math.sqrt(0.25 * 0.75 / n)


def test_uniform_with_equal_bounds_is_constant():
    assert set(draws(Uniform(0.3, 0.3), 100)) == {0.3}


# -- LogNormal --------------------------------------------------------------------------

@pytest.mark.parametrize("median, sigma", [(0.3, 0.6), (2.0, 1.2)])
def test_lognormal_median_and_spread(median, sigma):
    n = 20_000
    values = sorted(draws(LogNormal(median, sigma), n, seed=7))
    assert min(values) > 0
    # median: the log of the sample median has standard error sigma * sqrt(pi / 2n)
    log_median_se = sigma * math.sqrt(math.pi / (2 * n))
    assert abs(math.log(empirical_quantile(values, 0.5) / median)) < K * log_median_se
    # p84.13 / p15.87 = e^(2 sigma)
    p_hi, p_lo = NORMAL.cdf(1), NORMAL.cdf(-1)
    ratio = empirical_quantile(values, p_hi) / empirical_quantile(values, p_lo)
    log_ratio_se = sigma * math.sqrt(2) * quantile_se_in_z(p_hi, n)
    assert abs(math.log(ratio) - 2 * sigma) < K * log_ratio_se
    # and the log of the draws has standard deviation sigma
    logs = [math.log(v) for v in values]
    mean = fmean(logs)
    sd = math.sqrt(fmean([(x - mean) ** 2 for x in logs]))
    assert abs(sd - sigma) < K * sigma / math.sqrt(2 * n)


def test_lognormal_describe():
    assert LogNormal(0.3, 0.6).describe() == "lognormal median 300ms sigma 0.6"


# -- Percentiles ------------------------------------------------------------------------

SLOW = Percentiles(((0.50, 0.8), (0.95, 4.0), (0.99, 12.0)))  # scenarios/insi-slow.yaml


def test_percentiles_sample_reproduces_the_given_percentiles():
    n = 100_000
    values = sorted(draws(SLOW, n, seed=2024))
    points = SLOW.points
    # steepest log-slope (per unit of z) of the pieces around each point
    slopes = [(math.log(b[1] / a[1])) / (NORMAL.inv_cdf(b[0]) - NORMAL.inv_cdf(a[0]))
              for a, b in zip(points, points[1:])]
    for i, (p, expected) in enumerate(points):
        slope = max(slopes[max(0, i - 1)], slopes[min(len(slopes) - 1, i)])
        tolerance = K * slope * quantile_se_in_z(p, n)  # relative, on the log scale
        assert tolerance < 0.10  # "within a few percent"
        got = empirical_quantile(values, p)
        assert abs(math.log(got / expected)) < tolerance, (p, got, expected, tolerance)
        # equivalently: the share of draws below the given value is p
        share = sum(1 for v in values if v <= expected) / n
        assert abs(share - p) < K * math.sqrt(p * (1 - p) / n), (p, share)


def test_percentiles_with_a_single_point_is_constant():
    model = Percentiles(((0.95, 2.0),))
    assert set(draws(model, 1_000)) == {2.0}
    assert model.quantile(0.001) == model.quantile(0.999) == 2.0


def test_percentiles_quantile_is_exact_at_the_points_and_monotonic():
    for p, value in SLOW.points:
        assert SLOW.quantile(p) == pytest.approx(value, rel=1e-12)
    grid = [i / 10_000 for i in range(0, 10_001)]
    values = [SLOW.quantile(p) for p in grid]
    assert all(b >= a for a, b in zip(values, values[1:]))
    assert all(b > a for a, b in zip(values[1:-1], values[2:-1]))  # strictly, inside ]0, 1[
    assert values[0] > 0
    # beyond the outer points the nearest piece is extended (no clamping to the points)
    assert SLOW.quantile(0.1) < 0.8 and SLOW.quantile(0.999) > 12.0


def test_percentiles_from_three_lognormal_points_give_that_lognormal_back():
    median, sigma = 0.4, 0.75
    def exact(p):
        return median * math.exp(sigma * NORMAL.inv_cdf(p))
    model = Percentiles(tuple((p, exact(p)) for p in (0.5, 0.9, 0.99)))
    for p in (0.001, 0.01, 0.1, 0.25, 0.5, 0.7, 0.9, 0.95, 0.99, 0.999):
        assert model.quantile(p) == pytest.approx(exact(p), rel=1e-9), p
    # and the points need not include the median
    shifted = Percentiles(tuple((p, exact(p)) for p in (0.2, 0.75, 0.97)))
    for p in (0.01, 0.5, 0.9, 0.995):
        assert shifted.quantile(p) == pytest.approx(exact(p), rel=1e-9), p


def test_percentiles_describe():
    assert SLOW.describe() == "percentiles p50 800ms, p95 4s, p99 12s"


# -- cap, spike, seeds ------------------------------------------------------------------

def test_cap_clamps_every_draw_and_leaves_smaller_ones_alone():
    base = LogNormal(1.0, 1.0)
    capped = Latency(base, cap=3.0)
    n = 20_000
    raw = draws(Latency(base), n, seed=99)
    clamped = draws(capped, n, seed=99)
    assert clamped == [min(v, 3.0) for v in raw]
    assert max(clamped) == 3.0
    share_at_cap = sum(1 for v in clamped if v == 3.0) / n
    expected = 1 - NORMAL.cdf(math.log(3.0))  # P(X > 3) for median 1, sigma 1
    assert abs(share_at_cap - expected) < K * math.sqrt(expected * (1 - expected) / n)
    assert capped.describe() == "lognormal median 1s sigma 1, cap 3s"


def test_spike_mixture_takes_the_spike_with_its_probability():
    p, n = 0.03, 50_000
    spike = Latency(Fixed(5.0))
    model = Latency(Uniform(0.02, 0.08), spike_probability=p, spike=spike)
    values = draws(model, n, seed=3)
    from_spike = sum(1 for v in values if v == 5.0)
    assert all(0.02 <= v <= 0.08 for v in values if v != 5.0)
    assert abs(from_spike / n - p) < K * math.sqrt(p * (1 - p) / n)
    assert model.describe() == "uniform 20ms-80ms, spike 3%: fixed 5s"


def test_spike_is_capped_by_the_outer_cap_and_by_its_own():
    inner = Latency(LogNormal(2.0, 0.6), cap=20.0)
    model = Latency(Uniform(0.02, 0.08), cap=4.0, spike_probability=0.5, spike=inner)
    values = draws(model, 5_000, seed=5)
    assert max(values) == 4.0
    assert sum(1 for v in values if v == 4.0) > 0


def test_negative_draws_are_clamped_to_zero():
    assert draws(Latency(Uniform(-1.0, -0.5)), 100) == [0.0] * 100


@pytest.mark.parametrize("model", [
    Latency(Uniform(0.0, 1.0)),
    Latency(LogNormal(0.3, 0.6), cap=10.0),
    Latency(SLOW, cap=30.0),
    Latency(Uniform(0.02, 0.08), spike_probability=0.1,
            spike=Latency(LogNormal(2.0, 0.6), cap=20.0)),
])
def test_same_seed_same_sequence_other_seed_other_sequence(model):
    assert draws(model, 500, seed=11) == draws(model, 500, seed=11)
    assert draws(model, 500, seed=11) != draws(model, 500, seed=12)
