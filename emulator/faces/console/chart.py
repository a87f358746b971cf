"""The depth chart's geometry: samples → SVG coordinates, drawn inline by the templates.

Pure arithmetic (no SVG text is built here: the template writes the elements and Jinja
escapes every value). The x axis is the window ending now; the y axis starts at 0 and ends
at a round number at or above the largest count shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from emulator.domain.limits import USEC_PER_SECOND
from emulator.faces.console.history import DepthSample

#: The series drawn, as (attribute of DepthSample, label, CSS class).
SERIES: tuple[tuple[str, str, str], ...] = (
    ("ready", "ready", "series-ready"),
    ("leased", "leased", "series-leased"),
)


@dataclass(frozen=True)
class Series:
    """One line: its label, CSS class, ``points`` for ``<polyline>`` and its last point."""

    label: str
    css_class: str
    points: str
    last: tuple[float, float] | None
    latest: int


@dataclass(frozen=True)
class Tick:
    """An axis label at a coordinate."""

    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    """What a template needs to draw one chart (``compact``: a sparkline without axes)."""

    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    compact: bool
    series: list[Series] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    samples: int = 0

    @property
    def summary(self) -> str:
        """A text alternative: the latest value of each series."""
        if not self.samples:
            return "no samples yet"
        return ", ".join(f"{s.label} {s.latest}" for s in self.series)


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at or above ``value`` (1 for 0)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def depth_chart(
    samples: Sequence[DepthSample],
    now_usec: int,
    window_usec: int,
    *,
    width: int = 640,
    height: int = 180,
    compact: bool = False,
) -> Chart:
    """The chart of ``samples`` over ``[now - window, now]``."""
    left, top, right, bottom = (
        (2.0, 2.0, width - 2.0, height - 2.0)
        if compact
        else (44.0, 10.0, width - 10.0, height - 24.0)
    )
    y_max = nice_ceiling(max((max(s.ready, s.leased) for s in samples), default=0))
    start = now_usec - window_usec

    def x(at_usec: int) -> float:
        return round(left + (right - left) * (at_usec - start) / window_usec, 1)

    def y(count: int) -> float:
        return round(bottom - (bottom - top) * count / y_max, 1)

    series = []
    for attribute, label, css_class in SERIES:
        points = [(x(s.at_usec), y(getattr(s, attribute))) for s in samples]
        series.append(
            Series(
                label=label,
                css_class=css_class,
                points=" ".join(f"{px},{py}" for px, py in points),
                last=points[-1] if points else None,
                latest=getattr(samples[-1], attribute) if samples else 0,
            )
        )
    chart = Chart(width, height, left, top, right, bottom, compact, series, samples=len(samples))
    if not compact:
        chart.y_ticks.extend(Tick(y(v), str(v)) for v in sorted({0, y_max // 2, y_max}))
        minutes = window_usec // (60 * USEC_PER_SECOND)
        chart.x_ticks.extend(
            [
                Tick(left, f"−{minutes} min"),
                Tick((left + right) / 2, f"−{minutes // 2} min"),
                Tick(right, "now"),
            ]
        )
    return chart
