"""Charts as server-side SVG drawn by pygal (a well-kept library; nothing is loaded from a CDN
and no script runs in the page): mentions over time, one bar a period, stacked by channel,
each bar a link that narrows the search to its period."""
from __future__ import annotations

import datetime as dt
import re
from typing import Callable

from markupsafe import Markup

__all__ = ["mentions_chart", "period_range"]

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def period_range(period: str) -> tuple[str, str] | None:
    """The first and last day of a histogram period ("2024-03", "2024-W10"); None: undated."""
    if re.fullmatch(r"\d{4}-\d{2}", period):
        return period, period
    m = re.fullmatch(r"(\d{4})-W(\d{2})", period)
    if m:
        monday = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        return monday.isoformat(), (monday + dt.timedelta(days=6)).isoformat()
    return None


def mentions_chart(histogram: list[dict], link: Callable[[str], str | None] = lambda p: None,
                   label: Callable[[str], str] = str) -> Markup:
    """An SVG bar chart of a count per period (mentions, hours…), stacked by channel;
    `link(period)` gives each bar's URL (None: no link), `label(period)` its name on the axis."""
    import pygal
    from pygal.style import Style
    channels = sorted({c for h in histogram for c in h["channels"]})
    style = Style(background="transparent", plot_background="transparent", font_family="system-ui, sans-serif",
                  colors=("#0b5cad", "#e0a800", "#2e8540", "#a40000", "#6f42c1", "#5b6472"))
    config = pygal.Config(js=[], disable_xml_declaration=True, height=220, width=860, show_legend=len(channels) > 1,
                          legend_at_bottom=True, x_label_rotation=30 if len(histogram) > 8 else 0,
                          show_y_guides=True, print_values=False, style=style, explicit_size=False)
    chart = pygal.StackedBar(config)
    chart.x_labels = [label(h["period"]) for h in histogram]
    for channel in channels:
        values = []
        for h in histogram:
            n = h["channels"].get(channel, 0)
            href = link(h["period"])
            values.append({"value": n, "xlink": {"href": href, "target": "_self"}} if href and n else n or None)
        chart.add(channel, values)
    return Markup(_SCRIPT.sub("", chart.render(is_unicode=True)))
