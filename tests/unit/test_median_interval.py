"""bench.median_interval: the interval bench.nodes gives each ratio's median, on which its
verdict ("a loss", "no difference this run can see") rests."""

import random
import statistics

import pytest

from bench.median_interval import coverage, median_interval


def test_five_rounds_give_their_full_range_at_its_own_coverage() -> None:
    interval = median_interval([0.92, 1.00, 1.01, 0.88, 1.09])

    assert (interval.low, interval.high) == (0.88, 1.09)
    assert interval.coverage == pytest.approx(1 - 2 / 32)  # all five on one side: 2 in 32
    assert str(interval) == "0.88 to 1.09 (94%)"


def test_thirty_rounds_drop_their_nine_lowest_and_nine_highest() -> None:
    values = [float(value) for value in range(30)]

    interval = median_interval(values)

    assert (interval.low, interval.high) == (9.0, 20.0)
    assert interval.coverage >= 0.95
    assert coverage(30, 11) < 0.95  # one more dropped from each end would fall short


@pytest.mark.parametrize(("rounds", "level"), [(5, 0.9375), (12, 0.95), (30, 0.95)])
def test_the_interval_holds_the_true_median_as_often_as_it_says(rounds: int, level: float) -> None:
    draws = random.Random(16)
    true_median = 1.0  # of a lognormal spread around 1, skewed like throughput ratios
    trials = 4000
    held = 0
    for _ in range(trials):
        ratios = [draws.lognormvariate(0.0, 0.08) for _ in range(rounds)]
        held += median_interval(ratios).holds(true_median)

    assert held / trials >= level - 0.015


def test_more_rounds_narrow_the_interval() -> None:
    draws = random.Random(7)
    widths = {}
    for rounds in (5, 15, 45):
        samples = [
            median_interval([draws.gauss(1.0, 0.07) for _ in range(rounds)]) for _ in range(300)
        ]
        widths[rounds] = statistics.median(sample.high - sample.low for sample in samples)

    assert widths[5] > 1.5 * widths[15] > 1.5 * widths[45]


def test_no_rounds_is_an_error() -> None:
    with pytest.raises(ValueError):
        median_interval([])
