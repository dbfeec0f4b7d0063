// The console's events page: every event with its live figures, create, edit (resize,
// sales window, hold time), and open or close sales with one click.
//
// Live figures come from each event's stream. A browser keeps at most six connections
// to one HTTP/1.1 server, and every stream holds one, so only events on screen stream,
// at most MAX_STREAMS at once; the others keep their last figures, marked "Paused",
// and catch up at once when scrolled into view (a stream starts with the summary).

import { withBusy } from "../busy.js";
import { watchEvent } from "../live.js";
import {
  $,
  api,
  clearFieldErrors,
  liveOptions,
  renderFigures,
  renderGauge,
  rerenderAtSalesEdges,
  salesState,
  setFieldError,
  showError,
  showFieldErrors,
  timeZoneName,
  toaster,
  toInstant,
  toLocalInput,
  isNewer,
  wholeNumber,
} from "./page.js";

const MAX_STREAMS = 4;
const LIVE_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", polling: "Polling" };
const cards = new Map(); // eventId -> {node, summary, visible, stop}
// A window opens or closes by the clock alone: each badge turns at that moment.
const salesEdges = rerenderAtSalesEdges(
  () => [...cards.values()].map((card) => card.summary).filter(Boolean),
  () => cards.forEach(renderSales),
);

// ------------------------------------------------------------------ one card

function render(card, summary) {
  if (!isNewer(summary, card.summary)) return;
  card.summary = summary;
  const { node } = card;
  const link = node.querySelector(".event-link");
  link.textContent = summary.name;
  renderFigures(node, summary);
  renderGauge(node.querySelector(".gauge"), summary);
  node.querySelector(".gauge").setAttribute("aria-label", `Capacity booked for ${summary.name}`);
  renderSales(card);
  salesEdges();
}

function renderSales(card) {
  const { node, summary } = card;
  const sales = salesState(summary);
  const badge = node.querySelector(".sales-badge");
  badge.dataset.sales = sales.state;
  badge.textContent = sales.text;
  const close = node.querySelector("[data-action=close]");
  const open = node.querySelector("[data-action=open]");
  close.hidden = sales.state === "closed";
  open.hidden = sales.state === "open";
  close.setAttribute("aria-label", `Close sales now for ${summary.name}`);
  open.setAttribute("aria-label", `Open sales now for ${summary.name}`);
}

function showLive(card, state) {
  const pill = card.node.querySelector(".live-state");
  pill.dataset.state = state;
  pill.textContent = state === "paused" ? "Paused" : LIVE_TEXT[state] || state;
}

function fillEditForm(card) {
  const form = card.node.querySelector(".edit-form");
  const { summary } = card;
  const values = {
    name: summary.name,
    totalSeats: String(summary.totalSeats),
    holdSeconds: summary.holdSeconds === undefined ? "" : String(summary.holdSeconds),
    salesOpenAt: toLocalInput(summary.salesOpenAt),
    salesCloseAt: toLocalInput(summary.salesCloseAt),
  };
  for (const input of form.querySelectorAll("input")) {
    input.value = values[input.name];
    input.dataset.initial = input.value;
  }
  clearFieldErrors(form);
}

// What the edit form changes, or {problem} for a field the server would refuse anyway.
function editedFields(form) {
  const changes = {};
  for (const input of form.querySelectorAll("input")) {
    if (input.value === input.dataset.initial) continue;
    const label = form.querySelector(`label[for="${input.id}"]`).textContent;
    if (input.name === "totalSeats" || input.name === "holdSeconds") {
      const { value, problem } = wholeNumber(input, label);
      if (problem) return { input, problem };
      changes[input.name] = value;
    } else if (input.type === "datetime-local") {
      const instant = toInstant(input.value);
      if (instant === undefined) return { input, problem: `${label} is not a date and time.` };
      changes[input.name] = instant;
    } else {
      changes[input.name] = input.value.trim();
    }
  }
  return { changes };
}

async function patch(card, changes, done) {
  const updated = await api.updateEvent(card.summary.eventId, changes);
  render(card, updated);
  toaster.show({ kind: "success", title: done, message: `${updated.name}: ${salesState(updated).text}.` });
  return updated;
}

function wireCard(card) {
  const { node } = card;
  const eventId = card.summary.eventId;
  const form = node.querySelector(".edit-form");
  for (const input of form.querySelectorAll("input")) {
    const name = input.dataset.name;
    input.name = name;
    input.id = `edit-${eventId}-${name}`;
    const hint = form.querySelector(`[data-hint="${name}"]`);
    hint.id = `${input.id}-hint`;
    hint.textContent = hint.dataset.default;
    input.setAttribute("aria-describedby", hint.id);
    form.querySelector(`label[data-for="${name}"]`).htmlFor = input.id;
    input.addEventListener("input", () => setFieldError(input, null));
  }
  // Fill the form as the details opens, from the click itself: the "toggle" event comes
  // a task later and would wipe whatever was typed in between.
  const edit = node.querySelector(".event-edit");
  edit.querySelector("summary").addEventListener("click", () => {
    if (!edit.open) fillEditForm(card);
  });
  form.addEventListener("submit", (submit) => {
    submit.preventDefault();
    clearFieldErrors(form);
    const { changes, input, problem } = editedFields(form);
    if (problem) {
      setFieldError(input, problem);
      input.focus();
      return;
    }
    if (!Object.keys(changes).length) {
      toaster.show({ kind: "success", title: "Nothing to save", message: "No field was changed." });
      return;
    }
    withBusy(submit.submitter || form.querySelector("button[type=submit]"), async () => {
      try {
        await patch(card, changes, "Event saved");
        fillEditForm(card);
      } catch (error) {
        showFieldErrors(form, error, { conflictField: "totalSeats" });
        showError(error, "Saving failed");
      }
    });
  });
  const closeButton = node.querySelector("[data-action=close]");
  const openButton = node.querySelector("[data-action=open]");
  closeButton.addEventListener("click", () => {
    const now = new Date();
    const changes = { salesCloseAt: now.toISOString() };
    const opens = card.summary.salesOpenAt;
    if (opens && Date.parse(opens) >= now.getTime()) changes.salesOpenAt = null; // never opens
    salesAction(card, closeButton, openButton, changes, "Sales closed");
  });
  openButton.addEventListener("click", () => {
    const { salesOpenAt, salesCloseAt } = card.summary;
    const changes = {};
    if (salesOpenAt) changes.salesOpenAt = null;
    if (salesCloseAt && Date.parse(salesCloseAt) <= Date.now()) changes.salesCloseAt = null;
    salesAction(card, openButton, closeButton, changes, "Sales open");
  });
}

async function salesAction(card, button, other, changes, title) {
  if (!Object.keys(changes).length) return;
  await withBusy(button, async () => {
    try {
      await patch(card, changes, title);
    } catch (error) {
      showError(error, "Sales not changed");
    }
  });
  if (button.hidden) other.focus(); // the button pressed is gone: keep the keyboard's place
}

function addCard(summary, { first = false } = {}) {
  if (cards.has(summary.eventId)) return cards.get(summary.eventId);
  const node = $("event-card-template").content.firstElementChild.cloneNode(true);
  node.dataset.eventId = summary.eventId;
  const href = `/console/events/${encodeURIComponent(summary.eventId)}`;
  node.querySelector(".event-link").href = href;
  node.querySelector(".event-code").textContent = summary.eventId;
  const details = node.querySelector(".details-link");
  details.href = href;
  details.setAttribute("aria-label", `Sales and reservations of ${summary.name}`);
  const card = { node, summary: null, visible: false, stop: null };
  render(card, summary);
  wireCard(card);
  cards.set(summary.eventId, card);
  const list = $("event-list");
  if (first) list.prepend(node);
  else list.append(node);
  visibility.observe(node);
  renderCount();
  return card;
}

// Events created elsewhere (another organizer, a script) join the list when this tab comes
// back into view, and every 30 s while it is in view; known ones update in place.
async function refreshList() {
  if (document.visibilityState !== "visible") return;
  let events;
  try {
    events = await api.events();
  } catch {
    return; // offline or signed out: the next look tries again, the cards keep their figures
  }
  for (const summary of events) {
    const card = cards.get(summary.eventId);
    if (card) render(card, summary);
    else addCard(summary);
  }
}

function renderCount() {
  $("event-count").textContent = `(${cards.size.toLocaleString()})`;
  $("events-empty").hidden = cards.size > 0;
}

// ------------------------------------------------------------------ streams for what is on screen

const visibility = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const card = cards.get(entry.target.dataset.eventId);
    if (card) card.visible = entry.isIntersecting;
  }
  rebalance();
});

function rebalance() {
  const ordered = [...$("event-list").children].map((node) => cards.get(node.dataset.eventId));
  const wanted = new Set(ordered.filter((card) => card.visible).slice(0, MAX_STREAMS));
  for (const card of ordered) {
    if (!wanted.has(card) && card.stop) {
      card.stop();
      card.stop = null;
      showLive(card, "paused");
    }
  }
  for (const card of wanted) {
    if (card.stop) continue;
    const eventId = card.summary.eventId;
    card.stop = watchEvent({
      streamUrl: api.streamUrl(eventId),
      fetchSummary: () => api.summary(eventId),
      onSummary: (summary) => render(card, summary),
      onState: (state) => showLive(card, state),
      ...liveOptions,
    });
  }
}

// ------------------------------------------------------------------ create

const createForm = $("create-form");
const EVENT_ID_RULE =
  "Use 1 to 64 lowercase letters, digits, - or _, starting with a letter or digit (for example summer-fest-2026).";

function createFields() {
  const field = (name) => createForm.elements.namedItem(name);
  const fields = {};
  const problems = [];
  for (const name of ["eventId", "name"]) {
    fields[name] = field(name).value.trim();
    if (!fields[name]) problems.push([field(name), `Enter ${name === "eventId" ? "an event ID" : "a name"}.`]);
  }
  // The server's own rule, given to the field as its pattern (anchored): every problem shows
  // at once, rather than the ID's only after the others are mended and the server says no.
  if (fields.eventId && !new RegExp(field("eventId").pattern, "u").test(fields.eventId)) {
    problems.push([field("eventId"), EVENT_ID_RULE]);
  }
  const seats = wholeNumber(field("totalSeats"), "Total seats");
  if (seats.problem) problems.push([field("totalSeats"), seats.problem]);
  else fields.totalSeats = seats.value;
  const hold = wholeNumber(field("holdSeconds"), "Hold time", { optional: true });
  if (hold.problem) problems.push([field("holdSeconds"), hold.problem]);
  else if (hold.value !== null) fields.holdSeconds = hold.value;
  for (const name of ["salesOpenAt", "salesCloseAt"]) {
    const instant = toInstant(field(name).value);
    if (instant === undefined) problems.push([field(name), "Not a date and time."]);
    else if (instant) fields[name] = instant;
  }
  return { fields, problems };
}

for (const input of createForm.querySelectorAll("input")) {
  input.addEventListener("input", () => setFieldError(input, null));
}

createForm.addEventListener("submit", (submit) => {
  submit.preventDefault();
  clearFieldErrors(createForm);
  const { fields, problems } = createFields();
  for (const [input, problem] of problems) setFieldError(input, problem);
  if (problems.length) {
    problems[0][0].focus();
    return;
  }
  withBusy(submit.submitter || createForm.querySelector("button[type=submit]"), async () => {
    try {
      const summary = await api.createEvent(fields);
      addCard(summary, { first: true });
      createForm.reset();
      toaster.show({
        kind: "success",
        title: "Event created",
        message:
          `${summary.name} (${summary.eventId}), ${summary.totalSeats.toLocaleString()} seats: ` +
          `${salesState(summary).text}.`,
      });
    } catch (error) {
      showFieldErrors(createForm, error, { conflictField: "eventId" });
      showError(error, "Creating failed");
    }
  });
});

// ------------------------------------------------------------------ start

async function start() {
  for (const node of document.querySelectorAll(".tz-name")) node.textContent = timeZoneName();
  const embedded = $("initial-events");
  let events = embedded ? JSON.parse(embedded.textContent) : [];
  if (!events.length) {
    try {
      events = await api.events();
    } catch (error) {
      showError(error, "Could not load events");
    }
  }
  for (const summary of events) addCard(summary);
  renderCount();
  document.addEventListener("visibilitychange", refreshList);
  setInterval(refreshList, 30_000);
}

start();
