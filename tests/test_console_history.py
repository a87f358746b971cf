"""The console's depth history (bounded samples on the service's clock), its sampler thread,
the chart drawn from it, and the app's background work that runs the sampler."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest

from emulator import background
from emulator.app import create_app
from emulator.domain.model import QueueStats
from emulator.faces.console.chart import depth_chart, nice_ceiling
from emulator.faces.console.history import (
    SAMPLE_INTERVAL_SECONDS,
    WINDOW_SECONDS,
    DepthHistory,
    DepthSample,
    DepthSampler,
)
from emulator.faces.console.views import Console
from emulator.server import ServerThread
from tests.core_support import LIMITED, PULL, PUSH, World, pull

SEC = 1_000_000
T0 = 1_767_225_600 * SEC  # 2026-01-01T00:00:00Z, a multiple of the 10 s bucket


def _stats(queue: str = PULL, ready: int = 0, leased: int = 0, delayed: int = 0) -> QueueStats:
    return QueueStats(
        queue, ready + leased + delayed, in_flight=leased, ready=ready, delayed=delayed
    )


def _counts(samples: Sequence[DepthSample]) -> list[tuple[int, int, int, int]]:
    return [((s.at_usec - T0) // SEC, s.ready, s.leased, s.delayed) for s in samples]


# -- the history ----------------------------------------------------------------------------------


def test_a_later_sample_in_the_same_bucket_replaces_the_earlier_one() -> None:
    history = DepthHistory()
    history.record(T0, [_stats(ready=1)])
    history.record(T0 + 9 * SEC, [_stats(ready=2)])  # same 10 s bucket
    history.record(T0 + 10 * SEC, [_stats(ready=3, leased=1)])  # the next one
    assert _counts(history.series(PULL, T0 + 10 * SEC)) == [(9, 2, 0, 0), (10, 3, 1, 0)]


def test_the_window_is_an_hour_whatever_the_number_of_page_views() -> None:
    # Given a sample every second for two hours (as frequent page views would record)
    history = DepthHistory()
    for second in range(0, 2 * 3600):
        history.record(T0 + second * SEC, [_stats(ready=second)])
    now = T0 + (2 * 3600 - 1) * SEC
    # Then the chart's series covers the last hour, one sample per 10 s bucket
    series = history.series(PULL, now)
    assert len(series) == WINDOW_SECONDS // SAMPLE_INTERVAL_SECONDS + 1  # both ends
    assert series[0].at_usec >= now - WINDOW_SECONDS * SEC
    assert series[-1].ready == 2 * 3600 - 1


def test_memory_is_bounded_per_queue() -> None:
    history = DepthHistory(interval_seconds=10, window_seconds=60)
    for step in range(1000):
        history.record(T0 + step * 10 * SEC, [_stats(ready=step)])
    assert len(history._samples[PULL]) == 7  # 60 / 10 + 1


def test_a_clock_set_backwards_drops_the_samples_after_it() -> None:
    history = DepthHistory()
    for step in range(5):
        history.record(T0 + step * 10 * SEC, [_stats(ready=step)])
    history.record(T0 + 25 * SEC, [_stats(ready=99)])  # back from 40 s to 25 s
    assert _counts(history.series(PULL, T0 + 25 * SEC)) == [
        (0, 0, 0, 0),
        (10, 1, 0, 0),
        (25, 99, 0, 0),
    ]


def test_unconfigured_queues_are_not_recorded_and_removed_ones_are_forgotten() -> None:
    history = DepthHistory()
    history.record(T0, [_stats(PULL), _stats(LIMITED), QueueStats("nope", exists=False)])
    assert history.queues() == sorted([LIMITED, PULL])
    history.keep_only([PULL])
    assert history.queues() == [PULL]


def test_a_bad_interval_or_window_is_refused() -> None:
    with pytest.raises(ValueError):
        DepthHistory(interval_seconds=0)
    with pytest.raises(ValueError):
        DepthHistory(interval_seconds=60, window_seconds=10)


# -- the sampler ----------------------------------------------------------------------------------


def test_a_sample_reads_every_configured_queue_on_the_services_clock(world: World) -> None:
    history = DepthHistory()
    sampler = DepthSampler(world.service, history)
    world.add(pull(name="a"), pull(name="b", countdown_seconds=60))
    world.service.lease(PULL, 30, 1)
    sampler.sample()
    world.tick(10)
    sampler.sample()
    now = world.clock.now_usec()
    assert [(s.at_usec, s.ready, s.leased, s.delayed) for s in history.series(PULL, now)] == [
        (now - 10 * SEC, 0, 1, 1),
        (now, 0, 1, 1),
    ]
    assert set(history.queues()) == {"default", LIMITED, PULL, PUSH}


def test_the_sampler_thread_starts_samples_at_once_and_stops() -> None:
    # Given a service whose stats calls are observed
    sampled = threading.Event()

    class Observed:
        def config(self) -> object:
            return type("Config", (), {"queues": {PULL: None}})()

        def now_usec(self) -> int:
            return T0

        def stats(self, names: Sequence[str]) -> list[QueueStats]:
            sampled.set()
            return [_stats(ready=4)]

    history = DepthHistory()
    sampler = DepthSampler(Observed(), history, interval_seconds=3600)  # type: ignore[arg-type]
    # When the thread starts, then stops
    sampler.start()
    sampler.start()  # a second start is a no-op
    assert sampled.wait(10)
    sampler.stop()
    # Then it sampled at once and has ended
    assert not sampler.running
    assert _counts(history.series(PULL, T0)) == [(0, 4, 0, 0)]


def test_a_failing_sample_is_logged_once_per_streak_and_never_raised(
    caplog: pytest.LogCaptureFixture, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a backend that fails, recovers, then fails again
    outcomes = iter([False, False, True, False])
    working = world.service.stats

    def flaky(names: Sequence[str]) -> list[QueueStats]:
        if next(outcomes):
            return working(names)
        raise RuntimeError("backend unreachable")

    monkeypatch.setattr(world.service, "stats", flaky)
    sampler = DepthSampler(world.service, DepthHistory())
    # When the thread's loop samples four times
    with caplog.at_level(logging.WARNING, logger="emulator.console"):
        for _ in range(4):
            sampler._sample_logging_failures()  # what each turn of the thread's loop runs
    # Then nothing escaped, and each streak of failures was logged once
    assert caplog.text.count("depth sample failed (RuntimeError: backend unreachable)") == 2


def test_the_app_registers_the_console_as_background_work(world: World) -> None:
    app = create_app(world.service)
    [console] = app.extensions[background.EXTENSION]
    assert isinstance(console, Console) and not console.sampler.running


@pytest.mark.e2e
def test_serving_the_app_runs_the_sampler_and_stopping_it_ends_it(world: World) -> None:
    app = create_app(world.service)
    [console] = app.extensions[background.EXTENSION]
    server = ServerThread(app).start()
    try:
        assert console.sampler.running
    finally:
        server.stop()
    assert not console.sampler.running


# -- the chart ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (2, 2), (3, 5), (6, 10), (11, 20), (501, 1000)]
)
def test_the_y_axis_ends_at_a_round_number(value: int, ceiling: int) -> None:
    assert nice_ceiling(value) == ceiling


def test_the_chart_maps_the_window_to_the_width_and_counts_to_the_height() -> None:
    window = 3600 * SEC
    samples = [DepthSample(T0 - window, 0, 0, 0), DepthSample(T0, 10, 5, 0)]
    chart = depth_chart(samples, T0, window, width=100, height=50, compact=True)
    ready, leased = chart.series
    assert ready.points == "2.0,48.0 98.0,2.0"  # oldest at the left edge, now at the right
    assert leased.points == "2.0,48.0 98.0,25.0"  # 5 of 10: half way up
    assert (ready.last, chart.summary) == ((98.0, 2.0), "ready 10, leased 5")


def test_an_empty_chart_says_so_and_has_axes() -> None:
    chart = depth_chart([], T0, 3600 * SEC)
    assert chart.summary == "no samples yet"
    assert [t.label for t in chart.x_ticks] == ["−60 min", "−30 min", "now"]
    assert [t.label for t in chart.y_ticks] == ["0", "1"]
