"""The spending chart's geometry: one horizontal bar per category, drawn as SVG by the template.

Under the strict CSP (no ``style`` attribute, no inline style or script): the template writes only
geometry (x, y, width, height) and classes; the colours and the font are in static/css/kartosfera.css
(``.spending-chart``). The view box is as wide as a phone's screen, so the text is read at about its
CSS size there; on a wider screen the stylesheet caps the chart's width.
"""

from __future__ import annotations

from dataclasses import dataclass

from kartosfera.processing.spending import Spending

WIDTH = 320
ROW = 44
LABEL_BASELINE = 16
BAR_TOP = 22
BAR_HEIGHT = 14
# A bar for a small but positive amount is still seen (the table gives the exact figure).
BAR_MIN = 2
# The palette (static/css/kartosfera.css: .spending-bar--N), given by the row: neighbouring bars never share a
# colour, and a month of up to eight categories has eight different ones.
PALETTE_SIZE = 8


@dataclass(frozen=True)
class ChartBar:
    """One category's row: the label and amount above its bar (``width`` 0: nothing to draw, a net refund)."""

    name: str
    amount: str
    colour: int
    text_y: int
    bar_y: int
    width: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bar_height: int
    bars: list[ChartBar]


def spending_chart(spending: Spending) -> Chart:
    """The chart of ``spending``: its categories in its order (largest first), as long as their share."""
    bars = []
    for row, category in enumerate(spending.categories):
        top = row * ROW
        width = round(category.share * WIDTH)
        bars.append(
            ChartBar(
                name=category.name,
                amount=category.amount.format(),
                colour=row % PALETTE_SIZE,
                text_y=top + LABEL_BASELINE,
                bar_y=top + BAR_TOP,
                width=max(width, BAR_MIN) if category.share > 0 else 0,
            )
        )
    return Chart(width=WIDTH, height=max(len(bars), 1) * ROW, bar_height=BAR_HEIGHT, bars=bars)
