// One event in the console: live figures (its stream), sales over time and the partner
// table (the stats endpoint, fetched again whenever the stream reports a change), and
// the reservation list with filters, cursor paging and cancel behind a confirmation.

import { ApiError } from "../api.js";
import { withBusy } from "../busy.js";
import { watchEvent } from "../live.js";
import { drawSalesChart } from "./chart.js";
import {
  $,
  api,
  ask,
  element,
  formatInstant,
  isNewer,
  liveOptions,
  plural,
  renderFigures,
  renderGauge,
  rerenderAtSalesEdges,
  salesState,
  showError,
  toaster,
} from "./page.js";

const eventId = $("event-head").dataset.eventId;
const PAGE_SIZE = 20;
const STATS_MIN_INTERVAL_MS = 1000; // a busy on-sale: at most one stats request a second
const LIVE_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", polling: "Polling" };
const state = { summary: null, perMinute: [], page: null, reload: null, filters: {}, statsVersion: -1 };

// ------------------------------------------------------------------ figures

function renderSummary(summary) {
  if (!isNewer(summary, state.summary)) return;
  state.summary = summary;
  renderFigures($("main"), summary);
  renderGauge($("gauge"), summary);
  renderSales();
  salesEdges();
  if (summary.version !== state.statsVersion) stats.request();
}

function renderSales() {
  if (!state.summary) return;
  const sales = salesState(state.summary);
  $("sales-badge").dataset.sales = sales.state;
  $("sales-badge").textContent = sales.text;
}

// A window opens or closes by the clock alone: the badge turns at that moment.
const salesEdges = rerenderAtSalesEdges(() => (state.summary ? [state.summary] : []), renderSales);

function showLive(connection) {
  $("live-state").dataset.state = connection;
  $("live-state").textContent = LIVE_TEXT[connection] || connection;
}

// ------------------------------------------------------------------ stats: chart and partners

// Fetches stats now, or as soon as the last fetch is a second old; never two at once.
const stats = (() => {
  let running = false;
  let again = false;
  let last = 0;
  async function run() {
    running = true;
    again = false;
    last = Date.now();
    try {
      const figures = await api.stats(eventId);
      state.statsVersion = figures.summary.version;
      renderSummary(figures.summary);
      renderChart(figures.perMinute);
      renderPartners(figures.partners);
    } catch (error) {
      showError(error, "Could not load the figures");
    } finally {
      running = false;
      if (again) request();
    }
  }
  function request() {
    if (running) {
      again = true;
      return;
    }
    setTimeout(run, Math.max(0, last + STATS_MIN_INTERVAL_MS - Date.now()));
    running = true; // the timer counts as running: requests meanwhile just set `again`
  }
  return { request };
})();

function renderChart(rows) {
  state.perMinute = rows;
  $("chart-caption").textContent = drawSalesChart($("sales-chart"), rows);
}

new ResizeObserver(() => renderChart(state.perMinute)).observe($("sales-chart"));
setInterval(() => renderChart(state.perMinute), 60000); // the time axis runs to now

function renderPartners(partners) {
  const rows = partners.map((partner) => {
    const row = element("tr");
    row.dataset.partnerId = partner.partnerId;
    const name = element("th", "", partner.partnerId);
    name.scope = "row";
    // An allocation lowered below what a partner has takes nothing away: "over" says so.
    const left = (partner.allocation ?? 0) - partner.confirmedSeats - partner.heldSeats;
    const room = left >= 0 ? `${left.toLocaleString()} left` : `${(-left).toLocaleString()} over`;
    const allocation = partner.allocation === null ? "No limit" : `${partner.allocation.toLocaleString()} (${room})`;
    const seats = (count) => `${count.toLocaleString()} seats`;
    row.append(
      name,
      cell(`${seats(partner.confirmedSeats)} · ${plural(partner.confirmedCount, "booking")}`, "confirmed"),
      cell(`${seats(partner.heldSeats)} · ${plural(partner.holdCount, "hold")}`, "held"),
      cell(allocation, "allocation"),
      cell(`${(partner.share * 100).toFixed(1)}%`, "share"),
    );
    return row;
  });
  $("partner-rows").replaceChildren(...rows);
  $("partners-empty").hidden = rows.length > 0;
}

function cell(text, column) {
  const node = element("td", "", text);
  if (column) node.dataset.column = column;
  return node;
}

// ------------------------------------------------------------------ reservations

function statusText(reservation) {
  if (reservation.status === "held" && reservation.expiresAt) {
    return `Held until ${new Date(reservation.expiresAt).toLocaleTimeString()}`;
  }
  return reservation.status[0].toUpperCase() + reservation.status.slice(1);
}

function renderPage(page) {
  state.page = page;
  const rows = page.results.map((reservation) => {
    const row = element("tr");
    row.dataset.reservationId = reservation.reservationId;
    row.dataset.status = reservation.status;
    const id = element("th", "");
    id.scope = "row";
    id.append(element("code", "reservation-code", reservation.reservationId));
    const actions = element("td", "row-actions");
    if (reservation.status === "confirmed" || reservation.status === "held") {
      const button = element("button", "btn btn-danger-soft btn-small");
      button.type = "button";
      button.dataset.busyLabel = "Cancelling…";
      button.append(element("span", "btn-label", "Cancel"));
      button.setAttribute("aria-label", `Cancel reservation ${reservation.reservationId}`);
      button.addEventListener("click", () => askToCancel(reservation, button));
      actions.append(button);
    }
    row.append(
      id,
      cell(reservation.partnerId, "partner"),
      cell(reservation.seats.toLocaleString(), "seats"),
      cell(statusText(reservation), "status"),
      cell(formatInstant(reservation.createdAt), "made"),
      cell(reservation.createdBy || "", "by"),
      actions,
    );
    return row;
  });
  $("reservation-rows").replaceChildren(...rows);
  $("reservations-empty").hidden = rows.length > 0;
  $("page-previous").hidden = !page.previous;
  $("page-next").hidden = !page.next;
}

// `load` fetches one page; it is kept so the page shown can be fetched again (cursor
// pages have no link to themselves).
async function loadPage(load) {
  state.reload = load;
  try {
    renderPage(await load());
  } catch (error) {
    showError(error, "Could not load reservations");
  }
}

$("filter-form").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const form = submit.currentTarget;
  state.filters = {
    partnerId: form.elements.namedItem("partnerId").value.trim(),
    status: form.elements.namedItem("status").value,
    limit: PAGE_SIZE,
  };
  withBusy(submit.submitter || form.querySelector("button[type=submit]"), () =>
    loadPage(() => api.reservations(eventId, state.filters)),
  );
});

for (const [id, link] of [["page-next", "next"], ["page-previous", "previous"]]) {
  $(id).addEventListener("click", (click) => {
    const target = state.page && state.page[link];
    if (!target) return;
    withBusy(click.currentTarget, () => loadPage(() => api.reservationPage(target)));
  });
}

// ------------------------------------------------------------------ cancel, after asking

async function askToCancel(reservation, button) {
  const id = reservation.reservationId;
  $("cancel-dialog-text").textContent =
    `${id}: ${plural(reservation.seats, "seat")} for ${reservation.partnerId}. ` +
    "The seats go back on sale at once; this cannot be undone.";
  if ((await ask($("cancel-dialog"))) !== "cancel") {
    button.focus();
    return;
  }
  await withBusy(button, async () => {
    try {
      await api.cancel(id);
      const message = `${id} is cancelled; its seats are free again.`;
      toaster.show({ kind: "success", title: "Reservation cancelled", message });
    } catch (error) {
      showError(error, "Cancel failed");
      if (!(error instanceof ApiError && error.status === 404)) return;
    }
    await loadPage(state.reload); // the same page again, showing the cancel
  });
  if (!button.isConnected) $("reservation-region").focus(); // keep the keyboard nearby
}

// ------------------------------------------------------------------ start

function start() {
  $("csv-link").href = api.csvUrl(eventId);
  const embedded = $("initial-summary");
  const initial = embedded ? JSON.parse(embedded.textContent) : null;
  if (initial) renderSummary(initial);
  state.filters = { limit: PAGE_SIZE };
  loadPage(() => api.reservations(eventId, state.filters));
  if (!initial) stats.request(); // else renderSummary asked for it
  watchEvent({
    streamUrl: api.streamUrl(eventId),
    fetchSummary: () => api.summary(eventId),
    onSummary: renderSummary,
    onState: showLive,
    ...liveOptions,
  });
}

start();
