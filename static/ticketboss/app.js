// Wires the dashboard: forms with inline hints, the summary card, the event picker,
// "Your reservations" (kept in localStorage) and the live connection.

import { ApiError, createApi } from "./api.js";
import { watchEvent } from "./live.js";
import { copyButton, createToaster } from "./toasts.js";

const $ = (id) => document.getElementById(id);
const body = document.body;
const api = createApi(body.dataset.apiRoot || new URL("/", import.meta.url).href, {
  csrfToken: body.dataset.csrfToken || "",
});
// Keys mode without an organizer signed in, the page has no forms: the live board only.
const toaster = createToaster({ statusRegion: $("toast-status"), alertRegion: $("toast-alert") });
const MINE_KEY = "ticketboss.reservations.v1";
const EVENT_KEY = "ticketboss.event.v1";
// A reservation id has one spelling, the server's (its OpenAPI pattern): others answer 404.
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CONNECTION_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  polling: "Polling every 10 s",
};

const state = { events: [], eventId: null, summary: null, stopWatching: null };

// ------------------------------------------------------------------ validation (inline hints)

const rules = {
  "partner-id": (raw) => {
    const value = raw.trim();
    if (!value) return "Enter a partner ID.";
    if (value.length > 100) return "A partner ID has at most 100 characters.";
    if (/[\u0000-\u001f\u007f]/.test(value)) return "A partner ID cannot contain control characters.";
    return null;
  },
  seats: (raw, input) => {
    const value = raw.trim();
    if (input.validity.badInput || (value && !/^\d+$/.test(value))) {
      return "Seats must be a whole number from 1 to 10.";
    }
    if (!value) return "Enter how many seats, from 1 to 10.";
    if (Number(value) < 1) return "Reserve at least 1 seat.";
    if (Number(value) > 10) return "At most 10 seats per reservation.";
    return null;
  },
  "reservation-id": (raw) => {
    const value = raw.trim();
    if (!value) return "Enter a reservation ID.";
    if (!UUID_RE.test(value)) {
      return "A reservation ID looks like 6e43b66b-1c2d-4e5f-8a9b-0c1d2e3f4a5b (lowercase, with dashes).";
    }
    return null;
  },
};

function check(input) {
  const problem = rules[input.id](input.value, input);
  const hint = $(input.getAttribute("aria-describedby"));
  input.setAttribute("aria-invalid", problem ? "true" : "false");
  input.closest(".field").classList.toggle("field-invalid", Boolean(problem));
  hint.textContent = problem || hint.dataset.default;
  return problem;
}

function checkAll(form) {
  const inputs = [...form.querySelectorAll("input")];
  const invalid = inputs.filter((input) => check(input));
  if (invalid.length) invalid[0].focus();
  return invalid.length === 0;
}

for (const input of document.querySelectorAll(".form input")) {
  input.addEventListener("input", () => {
    input.dataset.touched = "true";
    check(input);
  });
  input.addEventListener("blur", () => {
    if (input.dataset.touched) check(input);
  });
}

// ------------------------------------------------------------------ buttons and errors

async function withBusy(button, work) {
  if (button.getAttribute("aria-busy") === "true") return; // no double submit
  const label = button.querySelector(".btn-label");
  const idle = label.textContent;
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  label.textContent = button.dataset.busyLabel || "Working…";
  try {
    await work();
  } finally {
    button.disabled = false;
    button.setAttribute("aria-busy", "false");
    label.textContent = idle;
  }
}

const ERROR_TITLES = {
  400: "Please check the form",
  404: "Not found",
  409: "Not enough seats",
  413: "Request too large",
  422: "Request conflict",
  429: "Slow down",
  503: "Temporarily unavailable",
};

function showError(error, fallbackTitle) {
  if (error instanceof ApiError) {
    const title = ERROR_TITLES[error.status] || fallbackTitle;
    toaster.show({ kind: "error", title, message: error.message });
  } else {
    toaster.show({ kind: "error", title: "Network down", message: error.message });
  }
}

// ------------------------------------------------------------------ your reservations

function loadMine() {
  try {
    const items = JSON.parse(localStorage.getItem(MINE_KEY) || "[]");
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}

function saveMine(items) {
  try {
    localStorage.setItem(MINE_KEY, JSON.stringify(items));
  } catch {
    // storage full or blocked: the list lives for this page only
  }
  renderMine(items);
}

function forget(reservationId) {
  const key = reservationId.trim().toLowerCase();
  saveMine(loadMine().filter((item) => item.reservationId.toLowerCase() !== key));
}

function eventName(eventId) {
  const found = state.events.find((item) => item.eventId === eventId);
  return found ? found.name : eventId;
}

function renderMine(items = loadMine()) {
  const list = $("mine-list");
  if (!list) return; // read-only board
  list.replaceChildren();
  $("mine-empty").hidden = items.length > 0;
  for (const item of items) {
    const row = document.createElement("li");
    row.className = "mine-item";
    const info = document.createElement("div");
    info.className = "mine-info";
    const id = document.createElement("code");
    id.className = "mine-id";
    id.textContent = item.reservationId;
    const meta = document.createElement("p");
    meta.className = "mine-meta";
    const seats = `${item.seats} seat${item.seats === 1 ? "" : "s"}`;
    meta.textContent = `${seats} · ${item.partnerId} · ${eventName(item.eventId)}`;
    info.append(id, meta);
    const actions = document.createElement("div");
    actions.className = "mine-actions";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn-danger-soft btn-small";
    cancel.dataset.busyLabel = "Cancelling…";
    cancel.setAttribute("aria-label", `Cancel reservation ${item.reservationId}`);
    const label = document.createElement("span");
    label.className = "btn-label";
    label.textContent = "Cancel";
    cancel.append(label);
    cancel.addEventListener("click", () => withBusy(cancel, () => cancelReservation(item.reservationId)));
    actions.append(copyButton(item.reservationId, `Copy reservation ID ${item.reservationId}`), cancel);
    row.append(info, actions);
    list.append(row);
  }
}

// ------------------------------------------------------------------ operations

let pendingReserve = null; // {fingerprint, key}: a retry after a network error reuses its key

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

async function reserve(partnerId, seats) {
  const eventId = state.eventId;
  const fingerprint = JSON.stringify([eventId, partnerId, seats]);
  if (!pendingReserve || pendingReserve.fingerprint !== fingerprint) {
    pendingReserve = { fingerprint, key: newKey() };
  }
  try {
    const result = await api.reserve(eventId, partnerId, seats, pendingReserve.key);
    pendingReserve = null;
    saveMine([
      { reservationId: result.reservationId, eventId, partnerId, seats: result.seats, at: Date.now() },
      ...loadMine(),
    ]);
    const seatText = `${result.seats} seat${result.seats === 1 ? "" : "s"}`;
    toaster.show({
      kind: "success",
      title: "Reservation confirmed",
      message: `${seatText} for ${partnerId} at ${eventName(eventId)}.`,
      code: result.reservationId,
    });
    refreshSummary();
  } catch (error) {
    if (error instanceof ApiError) pendingReserve = null; // answered: a new attempt is new
    showError(error, "Reservation failed");
  }
}

async function cancelReservation(reservationId) {
  try {
    await api.cancel(reservationId);
    forget(reservationId);
    toaster.show({ kind: "success", title: "Reservation cancelled", message: `${reservationId} is cancelled; its seats are free again.` });
    refreshSummary();
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) forget(reservationId);
    showError(error, "Cancel failed");
    return false;
  }
}

$("reserve-form")?.addEventListener("submit", (submit) => {
  submit.preventDefault();
  const form = submit.currentTarget;
  if (!checkAll(form)) return;
  const partnerId = $("partner-id").value.trim();
  const seats = Number($("seats").value);
  withBusy(form.querySelector("button[type=submit]"), () => reserve(partnerId, seats));
});

$("cancel-form")?.addEventListener("submit", (submit) => {
  submit.preventDefault();
  const form = submit.currentTarget;
  if (!checkAll(form)) return;
  const input = $("reservation-id");
  withBusy(form.querySelector("button[type=submit]"), async () => {
    if (await cancelReservation(input.value.trim())) {
      input.value = "";
      delete input.dataset.touched;
    }
  });
});

// ------------------------------------------------------------------ summary and live updates

function isNewer(candidate, current) {
  if (!current || current.eventId !== candidate.eventId) return true;
  if (candidate.version !== current.version) return candidate.version > current.version;
  return JSON.stringify(candidate) !== JSON.stringify(current);
}

function renderSummary(summary) {
  if (summary.eventId !== state.eventId || !isNewer(summary, state.summary)) return;
  state.summary = summary;
  for (const node of document.querySelectorAll("[data-field]")) {
    const value = summary[node.dataset.field];
    const text = typeof value === "number" ? value.toLocaleString() : String(value);
    node.textContent = text;
    node.style.setProperty("--chars", String(Math.max(text.length, 1))); // sizes .stat figures
  }
  const share = summary.totalSeats ? summary.reservedSeats / summary.totalSeats : 0;
  const gauge = $("gauge");
  gauge.setAttribute("aria-valuemax", String(summary.totalSeats));
  gauge.setAttribute("aria-valuenow", String(summary.reservedSeats));
  gauge.setAttribute("aria-valuetext", `${summary.reservedSeats} of ${summary.totalSeats} seats reserved`);
  gauge.style.setProperty("--fill", share.toFixed(4));
  const level = summary.availableSeats === 0 ? "soldout" : share >= 0.9 ? "low" : "ok";
  $("availability").dataset.level = level;
  gauge.dataset.level = level;
  const now = new Date();
  const time = $("updated-at");
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString();
  const known = state.events.findIndex((item) => item.eventId === summary.eventId);
  if (known >= 0) state.events[known] = summary;
}

async function refreshSummary() {
  try {
    renderSummary(await api.summary(state.eventId));
  } catch {
    // the live connection keeps trying; its state is on screen
  }
}

function showConnection(connection) {
  $("connection").dataset.state = connection;
  const seconds = Math.round(Number(body.dataset.pollInterval || 10000) / 1000);
  $("connection-text").textContent =
    connection === "polling" ? `Polling every ${seconds} s` : CONNECTION_TEXT[connection];
}

function selectEvent(eventId) {
  if (state.stopWatching) state.stopWatching();
  state.eventId = eventId;
  state.summary = null;
  try {
    localStorage.setItem(EVENT_KEY, eventId);
  } catch {
    // not remembered: fine
  }
  $("event-select").value = eventId;
  const initial = state.events.find((item) => item.eventId === eventId);
  if (initial) renderSummary(initial);
  state.stopWatching = watchEvent({
    streamUrl: api.streamUrl(eventId),
    fetchSummary: () => api.summary(eventId),
    onSummary: renderSummary,
    onState: showConnection,
    pollMs: Number(body.dataset.pollInterval) || 10000,
    streams: body.dataset.streams !== "off",
  });
}

function renderPicker() {
  const select = $("event-select");
  select.replaceChildren(
    ...state.events.map((item) => {
      const option = document.createElement("option");
      option.value = item.eventId;
      option.textContent = item.name;
      return option;
    }),
  );
  $("event-picker").hidden = state.events.length < 2;
}

function pickInitialEvent() {
  const ids = state.events.map((item) => item.eventId);
  const linked = new URLSearchParams(location.search).get("event"); // shareable ?event=<id>
  if (linked && ids.includes(linked)) return linked;
  let saved = null;
  try {
    saved = localStorage.getItem(EVENT_KEY);
  } catch {
    saved = null;
  }
  if (saved && ids.includes(saved)) return saved;
  if (ids.includes(body.dataset.defaultEvent)) return body.dataset.defaultEvent;
  return ids[0] || body.dataset.defaultEvent;
}

async function start() {
  const embedded = $("initial-events");
  state.events = embedded ? JSON.parse(embedded.textContent) : [];
  if (!state.events.length) {
    try {
      state.events = await api.events();
    } catch (error) {
      showError(error, "Could not load events");
    }
  }
  renderPicker();
  renderMine();
  $("event-select").addEventListener("change", (change) => {
    const link = new URL(location.href);
    link.searchParams.set("event", change.target.value);
    history.replaceState(null, "", link);
    selectEvent(change.target.value);
  });
  selectEvent(pickInitialEvent());
}

start();
