// What every console page shares: the API client, toasts, errors shown in words next to
// their fields and as toasts, and times between datetime-local inputs (the organizer's
// own time zone) and RFC 3339 UTC (the API's).

import { ApiError } from "../api.js";
import { createToaster } from "../toasts.js";
import { createConsoleApi } from "./api.js";

const body = document.body;
export const $ = (id) => document.getElementById(id);
export const api = createConsoleApi(body.dataset.apiRoot || new URL("/", location.href).href, {
  csrfToken: body.dataset.csrfToken || "",
});
export const toaster = createToaster({ statusRegion: $("toast-status"), alertRegion: $("toast-alert") });
export const liveOptions = {
  streams: body.dataset.streams !== "off",
  pollMs: Number(body.dataset.pollInterval) || 10000,
};

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export const plural = (count, word) => `${count.toLocaleString()} ${word}${count === 1 ? "" : "s"}`;

// ------------------------------------------------------------------ buttons and errors

const ERROR_TITLES = {
  400: "Please check the form",
  401: "Please sign in again",
  403: "Not allowed",
  404: "Not found",
  409: "Refused",
  413: "Request too large",
  429: "Slow down",
  503: "Temporarily unavailable",
};

export function showError(error, fallbackTitle) {
  if (error instanceof ApiError) {
    toaster.show({ kind: "error", title: ERROR_TITLES[error.status] || fallbackTitle, message: error.message });
  } else {
    toaster.show({ kind: "error", title: "Network down", message: error.message });
  }
}

// ------------------------------------------------------------------ inline field errors

function hintOf(input) {
  return document.getElementById(input.getAttribute("aria-describedby"));
}

export function setFieldError(input, problem) {
  const hint = hintOf(input);
  input.setAttribute("aria-invalid", problem ? "true" : "false");
  input.closest(".field").classList.toggle("field-invalid", Boolean(problem));
  if (hint) hint.textContent = problem || hint.dataset.default;
}

export function clearFieldErrors(form) {
  for (const input of form.querySelectorAll("input, select")) setFieldError(input, null);
}

// The server's refusal in words next to each field it names (`details`), or next to
// `conflictField` for a 409 about one field (an id taken, a resize below seats taken).
// Returns whether any field shows it; the first such field gets the focus.
export function showFieldErrors(form, error, { conflictField = null } = {}) {
  if (!(error instanceof ApiError)) return false;
  const problems = { ...(error.details || {}) };
  if (error.status === 409 && conflictField) problems[conflictField] = [error.message];
  let first = null;
  for (const [name, messages] of Object.entries(problems)) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) continue;
    setFieldError(input, [].concat(messages).join(" "));
    first = first || input;
  }
  if (first) first.focus();
  return Boolean(first);
}

// A whole number typed into `input`, or the problem in words (null when it may be empty).
export function wholeNumber(input, label, { optional = false } = {}) {
  const raw = input.value.trim();
  if (!raw && optional) return { value: null };
  if (input.validity.badInput || !/^\d+$/.test(raw)) return { problem: `${label} must be a whole number.` };
  return { value: Number(raw) };
}

// ------------------------------------------------------------------ times

// "2026-06-01T18:30" as typed (the browser's time zone) -> RFC 3339 UTC; "" -> null.
export function toInstant(localValue) {
  if (!localValue) return null;
  const moment = new Date(localValue);
  return Number.isNaN(moment.getTime()) ? undefined : moment.toISOString();
}

// RFC 3339 -> the value a datetime-local input shows in the browser's time zone.
export function toLocalInput(instant) {
  if (!instant) return "";
  const moment = new Date(instant);
  const pad = (n) => String(n).padStart(2, "0");
  const day = `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}`;
  const time = `${pad(moment.getHours())}:${pad(moment.getMinutes())}`;
  return `${day}T${time}${moment.getSeconds() ? `:${pad(moment.getSeconds())}` : ""}`;
}

export function formatInstant(instant) {
  return new Date(instant).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export function timeZoneName() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  } catch {
    return "local time";
  }
}

// Whether an event sells now by its window, as this browser's clock sees it.
export function salesState(summary, now = Date.now()) {
  const opens = summary.salesOpenAt ? Date.parse(summary.salesOpenAt) : null;
  const closes = summary.salesCloseAt ? Date.parse(summary.salesCloseAt) : null;
  if (closes !== null && now >= closes) return { state: "closed", text: "Sales closed" };
  if (opens !== null && now < opens) return { state: "scheduled", text: `Opens ${formatInstant(summary.salesOpenAt)}` };
  if (closes !== null) return { state: "open", text: `On sale until ${formatInstant(summary.salesCloseAt)}` };
  return { state: "open", text: "On sale" };
}

// The first instant after `now` at which a window in `summaries` opens or closes.
export function nextSalesEdge(summaries, now = Date.now()) {
  let next = Infinity;
  for (const summary of summaries) {
    for (const edge of [summary.salesOpenAt, summary.salesCloseAt]) {
      const at = edge ? Date.parse(edge) : NaN;
      if (at > now && at < next) next = at;
    }
  }
  return next;
}

// Calls `render` the moment a sales window opens or closes by this browser's clock: the
// server sends no message then (nothing in the store changed). At least once a minute
// too, so a laptop waking from sleep catches up. Returns the function to call again
// whenever the summaries change.
export function rerenderAtSalesEdges(summaries, render) {
  let timer = null;
  function schedule() {
    clearTimeout(timer);
    const wait = Math.min(nextSalesEdge(summaries()) - Date.now(), 60_000);
    timer = setTimeout(() => {
      render();
      schedule();
    }, Math.max(wait, 0) + 20); // +20 ms: fire just past the edge, never just before
  }
  schedule();
  return schedule;
}

// ------------------------------------------------------------------ summaries

// A later summary of the same event; equal versions may differ in fields that change no
// seats (name, window, hold time), and the later answer wins.
export function isNewer(candidate, current) {
  return !current || candidate.version >= current.version;
}

export function renderGauge(gauge, summary) {
  const total = summary.totalSeats;
  gauge.setAttribute("aria-valuemax", String(total));
  gauge.setAttribute("aria-valuenow", String(summary.reservedSeats));
  const held = summary.heldSeats ? `, ${summary.heldSeats.toLocaleString()} held` : "";
  gauge.setAttribute(
    "aria-valuetext",
    `${summary.reservedSeats.toLocaleString()} of ${total.toLocaleString()} seats reserved${held}`,
  );
  gauge.style.setProperty("--fill", (total ? summary.reservedSeats / total : 0).toFixed(4));
  gauge.style.setProperty("--held", (total ? (summary.heldSeats || 0) / total : 0).toFixed(4));
  const nearlyGone = total && 1 - summary.availableSeats / total >= 0.9;
  gauge.dataset.level = summary.availableSeats === 0 ? "soldout" : nearlyGone ? "low" : "ok";
}

export function renderFigures(root, summary) {
  for (const node of root.querySelectorAll("[data-field]")) {
    const value = summary[node.dataset.field];
    const text = typeof value === "number" ? value.toLocaleString() : String(value ?? "–");
    node.textContent = text;
    node.style.setProperty("--chars", String(Math.max(text.length, 1)));
  }
}

// Opens a modal <dialog> (a form with method=dialog) and resolves with the value of the
// button that closed it ("" for Escape).
export function ask(dialog) {
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    const closed = () => {
      if (dialog.open) return; // the late close event of an earlier showing, not of this one
      dialog.removeEventListener("close", closed);
      resolve(dialog.returnValue);
    };
    dialog.addEventListener("close", closed);
  });
}
