"""Geometry of the dashboard's feeding chart: one inline SVG per structure, one stacked
bar per month (qualified, non-qualified, INS-C), all on one scale. Drawn by the
template; no JavaScript, so the dashboard works offline."""
from __future__ import annotations

from simulator.timeline_reports import FEED_KINDS

BAR, GAP, PLOT, TOP, BOTTOM = 34, 18, 120, 18, 22  # pixels


def feeding_charts(months: list[dict]) -> list[dict]:
    """Per structure (rows of :func:`simulator.timeline_reports.feeding`): the SVG's
    width and height and its bars, each with its month, total, label position and
    segments ``{kind, count, x, y, width, height}`` from the baseline up."""
    peak = max((row["documents"] for row in months), default=0) or 1
    charts: dict = {}
    for row in months:
        chart = charts.setdefault(row["structure"], {"structure": row["structure"],
                                                     "bars": []})
        x = GAP + len(chart["bars"]) * (BAR + GAP)
        top = TOP + PLOT
        segments = []
        for kind in FEED_KINDS:
            count = row[kind.replace("-", "_")]
            height = round(count / peak * PLOT, 1)
            if count:
                top -= height
                segments.append({"kind": kind, "count": count, "x": x, "y": round(top, 1),
                                 "width": BAR, "height": height})
        chart["bars"].append({"month": row["month"], "total": row["documents"],
                              "x": x, "centre": x + BAR / 2, "total_y": round(top - 4, 1),
                              "share": row["qualified_share"], "segments": segments})
    for chart in charts.values():
        chart["width"] = GAP + len(chart["bars"]) * (BAR + GAP)
        chart["height"] = TOP + PLOT + BOTTOM
        chart["baseline"] = TOP + PLOT
        chart["month_y"] = TOP + PLOT + 15
    return list(charts.values())
