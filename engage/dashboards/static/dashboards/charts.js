// Draw each dashboard chart from the table under it: the rows are the x axis,
// the columns the series, the numbers each cell's data-value. The table is
// what a browser without JavaScript shows; here it becomes a picture too.
(function () {
  "use strict";
  const COLOURS = ["#417690", "#e8833a", "#5b9a68", "#c0504d", "#8064a2", "#4bacc6",
    "#9c8b43", "#7f7f7f", "#d36f98", "#2f5597", "#70ad47", "#b5651d"];

  function readTable(table) {
    const columns = [...table.tHead.rows[0].cells].slice(1).map((th) => th.textContent);
    const labels = [];
    const values = columns.map(() => []);
    for (const row of table.tBodies[0].rows) {
      labels.push(row.cells[0].textContent);
      [...row.cells].slice(1).forEach((cell, i) => {
        const value = cell.dataset.value;
        values[i].push(value === "" ? null : Number(value));
      });
    }
    return {labels, datasets: columns.map((label, i) => ({label, data: values[i]}))};
  }

  function draw(box) {
    const kind = box.dataset.kind;
    const canvas = box.querySelector("canvas");
    if (!canvas || canvas.dataset.drawn) return;
    const data = readTable(box.querySelector("table"));
    const stacked = kind === "stacked";
    data.datasets.forEach((dataset, i) => {
      dataset.backgroundColor = dataset.borderColor = COLOURS[i % COLOURS.length];
      if (kind === "dual") dataset.yAxisID = i === 0 ? "y" : "y1";
    });
    const scales = {x: {stacked}, y: {stacked, beginAtZero: true}};
    if (kind === "dual") scales.y1 = {position: "right", beginAtZero: true, grid: {drawOnChartArea: false}};
    canvas.parentElement.hidden = false;
    new Chart(canvas, {
      type: kind === "line" || kind === "dual" ? "line" : "bar",
      data,
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: {mode: "index", intersect: false},
        scales,
      },
    });
    canvas.dataset.drawn = "1";
  }

  document.querySelectorAll(".dashboard-chart").forEach(draw);
})();
