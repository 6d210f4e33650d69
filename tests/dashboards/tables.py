"""The charts' tables of an admin page, read as a user reads them."""

from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts: dict[str, list[list[str]]] = {}
        self._chart = None
        self._row = None
        self._cell = None
        self._in_body = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "dashboard-chart" in (attrs.get("class") or "").split():
            self._chart = attrs["id"].removeprefix("chart-")
            self.charts[self._chart] = []
        elif tag == "tbody" and self._chart is not None:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag in ("th", "td") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.charts[self._chart].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._chart = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def chart_tables(html: str) -> dict[str, list[list[str]]]:
    """``{chart key: [[row label, cell, ...], ...]}`` of every chart on the page."""
    parser = _Tables()
    parser.feed(html)
    return parser.charts
