"""An operator opens the workspace overview in Chromium: every chart is drawn
(its canvas painted) from the numbers its table shows, the shop's numbers
worked out by hand, and hovering a bar tells its number."""

from django.contrib.auth.models import Permission, User

from tests.dashboards.shop import EXPECTED, QUERY, seed

READ_CHARTS = """() => [...document.querySelectorAll(".dashboard-chart")].map((box) => {
  const canvas = box.querySelector("canvas");
  const chart = canvas && Chart.getChart(canvas);
  let painted = 0;
  if (canvas) {
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
  }
  return {
    key: box.id.replace("chart-", ""),
    visible: canvas ? canvas.checkVisibility() : null,
    painted,
    labels: chart ? chart.data.labels : null,
    series: chart ? chart.data.datasets.map((d) => d.data) : null,
  };
})"""
FIRST_BAR = """(key) => {
  const chart = Chart.getChart(document.querySelector(`#chart-${key} canvas`));
  chart.canvas.scrollIntoView();
  const bar = chart.getDatasetMeta(0).data[0];
  const box = chart.canvas.getBoundingClientRect();
  return {x: box.left + bar.x, y: box.top + (bar.y + bar.base) / 2};
}"""
TOOLTIP = """(key) => {
  const tooltip = Chart.getChart(document.querySelector(`#chart-${key} canvas`)).tooltip;
  return [tooltip.title, tooltip.body.map((line) => line.lines).flat()];
}"""


def viewer_of(workspace) -> User:
    user = User.objects.create_user("ann", password="not-used", is_staff=True)
    user.user_permissions.set(
        [Permission.objects.get(content_type__app_label="dashboards", codename="view_overview")]
    )
    workspace.members.add(user)
    return user


def read(page) -> dict:
    charts = page.evaluate(READ_CHARTS)
    point = page.evaluate(FIRST_BAR, "decisions")
    page.mouse.move(point["x"], point["y"])
    page.wait_for_function(
        "(key) => Chart.getChart(document.querySelector(`#chart-${key} canvas`))"
        ".tooltip.opacity > 0",
        arg="decisions",
    )
    heat = page.locator("#chart-retention tbody td").first
    return {
        "charts": charts,
        "tooltip": page.evaluate(TOOLTIP, "decisions"),
        "heat": [
            heat.get_attribute("title"),
            heat.evaluate("c => getComputedStyle(c).backgroundColor"),
        ],
    }


def as_numbers(cells: list[str]) -> list[float]:
    return [float(cell.replace(",", "")) for cell in cells]


def test_the_overview_draws_every_chart_from_the_seeded_numbers(
    open_admin_page, workspace, other_workspace
):
    seed(workspace.workspace, other_workspace.workspace)
    query = "&".join(f"{name}={value}" for name, value in QUERY.items())

    seen = open_admin_page(
        viewer_of(workspace.workspace), f"/admin/dashboards/overview/?{query}", read
    )

    charts = {chart["key"]: chart for chart in seen["charts"]}
    assert list(charts) == list(EXPECTED)
    for key, rows in EXPECTED.items():
        chart = charts[key]
        if key == "retention":  # a heat map: the table is the picture
            assert chart["visible"] is None
            continue
        assert chart["visible"], key
        assert chart["painted"] > 500, key
        assert chart["labels"] == [row[0] for row in rows], key
        columns = [as_numbers(column) for column in zip(*(row[1:] for row in rows), strict=True)]
        assert chart["series"] == columns, key
    assert seen["tooltip"] == [["skipped: no_address"], ["decisions: 2"]]
    assert seen["heat"] == ["2 of 2 active in week 0", "rgb(65, 118, 144)"]
