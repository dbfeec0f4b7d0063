// Wires the dashboard: forms with inline hints, the summary card, the event picker,
// "Your reservations" (kept in localStorage, holds with a live countdown) and the live
// connection.

import { ApiError, createApi } from "./api.js";
import { withBusy } from "./busy.js";
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
    const title = error.message === "Hold expired" ? "Hold expired" : ERROR_TITLES[error.status] || fallbackTitle;
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

function updateMine(reservationId, changes) {
  saveMine(loadMine().map((item) => (item.reservationId === reservationId ? { ...item, ...changes } : item)));
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
    const held = item.status === "held";
    row.dataset.status = held ? "held" : "confirmed";
    if (held) {
      const countdown = document.createElement("p");
      countdown.className = "mine-meta mine-countdown";
      countdown.dataset.expiresAt = item.expiresAt;
      info.append(countdown);
    }
    const actions = document.createElement("div");
    actions.className = "mine-actions";
    actions.append(copyButton(item.reservationId, `Copy reservation ID ${item.reservationId}`));
    const rid = item.reservationId;
    if (held) {
      actions.append(
        actionButton("Confirm", "Confirming…", "btn-primary", `Confirm hold ${rid}`, () => confirmHold(rid)),
        actionButton("Release", "Releasing…", "btn-danger-soft", `Release hold ${rid}`, () =>
          cancelReservation(rid, { hold: true }),
        ),
      );
    } else {
      actions.append(
        actionButton("Cancel", "Cancelling…", "btn-danger-soft", `Cancel reservation ${rid}`, () =>
          cancelReservation(rid),
        ),
      );
    }
    row.append(info, actions);
    list.append(row);
  }
  tickCountdowns();
}

function actionButton(text, busyLabel, style, ariaLabel, work) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `btn ${style} btn-small`;
  button.dataset.busyLabel = busyLabel;
  button.setAttribute("aria-label", ariaLabel);
  const label = document.createElement("span");
  label.className = "btn-label";
  label.textContent = text;
  button.append(label);
  button.addEventListener("click", () => withBusy(button, work));
  return button;
}

// ------------------------------------------------------------------ hold countdowns

const checking = new Map(); // reservation id -> time of the next status check (ms)

function tickCountdowns() {
  const now = Date.now();
  for (const node of document.querySelectorAll(".mine-countdown")) {
    const left = Math.max(0, Date.parse(node.dataset.expiresAt) - now);
    const seconds = Math.ceil(left / 1000);
    const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    node.textContent = left > 0 ? `Held · ${clock} left to confirm` : "Hold ending…";
    const rid = node.closest(".mine-item").querySelector(".mine-id").textContent;
    if (left === 0 && (checking.get(rid) || 0) <= now) {
      checking.set(rid, now + 1000); // ask the server at most once a second
      checkHold(rid);
    }
  }
}

async function checkHold(reservationId) {
  const item = loadMine().find((entry) => entry.reservationId === reservationId);
  if (!item) return;
  try {
    const shown = await api.reservation(reservationId);
    if (shown.status === "held") return; // the server's clock is behind ours: ask again
    if (shown.status === "expired") {
      forget(reservationId);
      checking.delete(reservationId);
      const seatText = `${item.seats} seat${item.seats === 1 ? "" : "s"}`;
      toaster.show({
        kind: "error",
        title: "Hold expired",
        message: `The hold on ${seatText} for ${item.partnerId} ended; the seats are free again.`,
      });
      refreshSummary();
    } else if (shown.status === "confirmed") {
      updateMine(reservationId, { status: "confirmed" });
    } else {
      forget(reservationId);
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) forget(reservationId);
  }
}

setInterval(tickCountdowns, 250);

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

async function hold(partnerId, seats) {
  const eventId = state.eventId;
  const fingerprint = JSON.stringify(["hold", eventId, partnerId, seats]);
  if (!pendingReserve || pendingReserve.fingerprint !== fingerprint) {
    pendingReserve = { fingerprint, key: newKey() };
  }
  try {
    const result = await api.hold(eventId, partnerId, seats, pendingReserve.key);
    pendingReserve = null;
    saveMine([
      {
        reservationId: result.reservationId,
        eventId,
        partnerId,
        seats: result.seats,
        status: "held",
        expiresAt: result.expiresAt,
        at: Date.now(),
      },
      ...loadMine(),
    ]);
    const seatText = `${result.seats} seat${result.seats === 1 ? "" : "s"}`;
    toaster.show({
      kind: "success",
      title: "Seats held",
      message: `${seatText} for ${partnerId} until ${new Date(result.expiresAt).toLocaleTimeString()}: confirm them in Your reservations.`,
      code: result.reservationId,
    });
    refreshSummary();
  } catch (error) {
    if (error instanceof ApiError) pendingReserve = null;
    showError(error, "Hold failed");
  }
}

async function confirmHold(reservationId) {
  try {
    await api.confirm(reservationId);
    updateMine(reservationId, { status: "confirmed" });
    toaster.show({ kind: "success", title: "Reservation confirmed", message: `${reservationId} is confirmed.` });
    refreshSummary();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 409)) forget(reservationId);
    showError(error, "Confirm failed");
    refreshSummary();
  }
}

async function cancelReservation(reservationId, { hold: isHold = false } = {}) {
  try {
    await api.cancel(reservationId);
    forget(reservationId);
    toaster.show(
      isHold
        ? { kind: "success", title: "Hold released", message: `${reservationId} is released; its seats are free again.` }
        : { kind: "success", title: "Reservation cancelled", message: `${reservationId} is cancelled; its seats are free again.` },
    );
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
  const button = submit.submitter || form.querySelector("button[type=submit]");
  const work = button.value === "hold" ? () => hold(partnerId, seats) : () => reserve(partnerId, seats);
  withBusy(button, work);
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
  const held = summary.totalSeats ? (summary.heldSeats || 0) / summary.totalSeats : 0;
  gauge.style.setProperty("--held", held.toFixed(4));
  if (summary.heldSeats) {
    gauge.setAttribute(
      "aria-valuetext",
      `${summary.reservedSeats} of ${summary.totalSeats} seats reserved, ${summary.heldSeats} held`,
    );
  }
  const taken = summary.totalSeats ? 1 - summary.availableSeats / summary.totalSeats : 0;
  const level = summary.availableSeats === 0 ? "soldout" : taken >= 0.9 ? "low" : "ok";
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
