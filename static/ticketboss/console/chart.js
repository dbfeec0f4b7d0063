// Sales over time as inline SVG: seats sold per minute as bars (left scale) and seats
// sold in total as a line (right scale). Rows are the API's `perMinute`: only minutes
// with a change, oldest first; minutes between them are drawn as nothing sold. A minute
// can be negative (more cancelled than sold), so both scales include their minimum.
// Colours come from CSS classes, so the chart follows light and dark.

const NS = "http://www.w3.org/2000/svg";
const HEIGHT = 240;
const PAD = { left: 40, right: 52, top: 14, bottom: 30 };
const MINUTE_MS = 60000;
const MIN_SPAN = 30; // minutes

function svgNode(tag, attributes, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// [min, max] without spreading a long list into arguments (a week of minutes is 10,080).
function extent(values) {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}

function scale([low, high], top, bottom) {
  const min = Math.min(0, low);
  const max = Math.max(1, high);
  return (value) => bottom - ((value - min) / (max - min)) * (bottom - top);
}

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const day = (ms) => new Date(ms).toLocaleDateString([], { month: "short", day: "numeric" });

// Draws `rows` into `svg` at its on-screen width (labels keep their size on a phone; call
// again when that changes) and returns a one-sentence description of them.
export function drawSalesChart(svg, rows, now = Date.now()) {
  const WIDTH = Math.max(200, Math.round(svg.getBoundingClientRect().width) || 640);
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  const total = rows.length ? rows[rows.length - 1].cumulative : 0;
  svg.dataset.total = String(total);
  svg.dataset.minutes = String(rows.length);
  const bottom = HEIGHT - PAD.bottom;
  const right = WIDTH - PAD.right;
  const parts = [svgNode("line", { class: "chart-axis", x1: PAD.left, x2: right, y1: bottom, y2: bottom })];
  if (!rows.length) {
    const middle = { class: "chart-empty", x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle" };
    parts.push(svgNode("text", middle, "No seats sold yet"));
    svg.replaceChildren(...parts);
    return "No seats sold yet.";
  }

  // The x axis runs to the current minute (sales up to now), and spans at least MIN_SPAN
  // minutes, so a first sale is a bar, not a wall.
  const times = rows.map((row) => Date.parse(row.minute));
  const end = Math.max(times[times.length - 1], Math.floor(now / MINUTE_MS) * MINUTE_MS) + MINUTE_MS;
  const first = Math.min(times[0], end - MIN_SPAN * MINUTE_MS);
  const slot = (right - PAD.left) / ((end - first) / MINUTE_MS);
  const x = (time) => PAD.left + ((time - first) / MINUTE_MS) * slot;
  const seats = rows.map((row) => row.seats);
  const sums = rows.map((row) => row.cumulative);
  const seatRange = extent(seats);
  const sumRange = extent(sums);
  const ySeats = scale(seatRange, PAD.top, bottom);
  const ySum = scale(sumRange, PAD.top, bottom);
  const topSeats = Math.max(1, seatRange[1]);
  const topSum = Math.max(1, sumRange[1]);

  const bars = svgNode("g", { class: "chart-bars" });
  rows.forEach((row, i) => {
    const top = Math.min(ySeats(row.seats), ySeats(0));
    const height = Math.max(1, Math.abs(ySeats(row.seats) - ySeats(0)));
    const bar = svgNode("rect", { x: x(times[i]) + slot * 0.1, y: top, width: Math.max(1, slot * 0.8), height });
    bar.append(svgNode("title", {}, `${clock(times[i])}: ${row.seats} seats, ${row.cumulative} in total`));
    bars.append(bar);
  });
  // The running total as steps: it changes within each minute with a sale, flat between.
  const points = [[PAD.left, ySum(0)]];
  rows.forEach((row, i) => {
    const before = i ? rows[i - 1].cumulative : 0;
    points.push([x(times[i]), ySum(before)], [x(times[i]) + slot, ySum(row.cumulative)]);
  });
  points.push([x(end), ySum(sums[sums.length - 1])]);
  const line = svgNode("polyline", { class: "chart-line", points: points.map((p) => p.join(",")).join(" ") });

  const label = (x_, y, text, anchor, cls = "chart-label") =>
    svgNode("text", { class: cls, x: x_, y, "text-anchor": anchor, "dominant-baseline": "middle" }, text);
  const sameDay = day(first) === day(end);
  parts.push(
    bars,
    line,
    label(PAD.left - 6, ySeats(topSeats), topSeats.toLocaleString(), "end"),
    label(PAD.left - 6, ySeats(0), "0", "end"),
    label(right + 6, ySum(topSum), topSum.toLocaleString(), "start", "chart-label chart-label-line"),
    label(right + 6, ySum(0), "0", "start", "chart-label chart-label-line"),
    label(PAD.left, HEIGHT - 12, sameDay ? clock(first) : `${day(first)} ${clock(first)}`, "start"),
    label(right, HEIGHT - 12, sameDay ? clock(end) : `${day(end)} ${clock(end)}`, "end"),
  );
  svg.replaceChildren(...parts);

  const busiest = rows.reduce((best, row) => (row.seats > best.seats ? row : best), rows[0]);
  const lastSale = times[times.length - 1] + MINUTE_MS;
  return (
    `${total.toLocaleString()} seats sold in total, from ${clock(times[0])} to ${clock(lastSale)}; ` +
    `busiest minute ${clock(Date.parse(busiest.minute))} with ${busiest.seats.toLocaleString()} seats.`
  );
}
