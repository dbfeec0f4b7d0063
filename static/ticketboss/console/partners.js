// The console's partners page: add partners, issue keys (shown once, in a dialog with a
// copy button), revoke keys after a confirmation, and set allocations per event.

import { withBusy } from "../busy.js";
import { copyButton } from "../toasts.js";
import {
  $,
  api,
  ask,
  clearFieldErrors,
  element,
  formatInstant,
  setFieldError,
  showError,
  showFieldErrors,
  toaster,
  wholeNumber,
} from "./page.js";

const state = { partners: [], events: [] };

// ------------------------------------------------------------------ partners and keys

function renderPartners() {
  const items = state.partners.map((partner) => {
    const item = element("li", "partner-item");
    item.dataset.partnerId = partner.partnerId;
    const head = element("div", "partner-head");
    const title = element("h3", "partner-title", partner.partnerId);
    const named = partner.name && partner.name !== partner.partnerId ? `${partner.name} · ` : "";
    head.append(title, element("p", "muted", `${named}since ${formatInstant(partner.createdAt)}`));
    const issue = element("button", "btn btn-primary btn-small");
    issue.type = "button";
    issue.dataset.busyLabel = "Issuing…";
    issue.append(element("span", "spinner"), element("span", "btn-label", "Issue a key"));
    issue.querySelector(".spinner").setAttribute("aria-hidden", "true");
    issue.setAttribute("aria-label", `Issue a key for ${partner.partnerId}`);
    issue.addEventListener("click", () => withBusy(issue, () => issueKey(partner.partnerId, issue)));
    head.append(issue);
    item.append(head, keyList(partner));
    return item;
  });
  $("partner-list").replaceChildren(...items);
  $("partners-empty").hidden = items.length > 0;
  $("partner-count").textContent = `(${items.length.toLocaleString()})`;
  $("partner-ids").replaceChildren(
    ...state.partners.map((partner) => Object.assign(element("option"), { value: partner.partnerId })),
  );
}

function keyList(partner) {
  const keys = partner.keys || [];
  if (!keys.length) return element("p", "muted key-none", "No keys yet.");
  const list = element("ul", "key-list");
  for (const key of keys) {
    const row = element("li", "key-item");
    row.dataset.prefix = key.prefix;
    const info = element("p", "key-info");
    info.append(element("code", "", `tb_${key.prefix}_…`));
    const when = key.revokedAt
      ? ` issued ${formatInstant(key.createdAt)}, revoked ${formatInstant(key.revokedAt)}`
      : ` issued ${formatInstant(key.createdAt)}, active`;
    info.append(document.createTextNode(when));
    row.dataset.state = key.revokedAt ? "revoked" : "active";
    row.append(info);
    if (!key.revokedAt) {
      const revoke = element("button", "btn btn-danger-soft btn-small");
      revoke.type = "button";
      revoke.dataset.busyLabel = "Revoking…";
      revoke.append(element("span", "btn-label", "Revoke"));
      revoke.setAttribute("aria-label", `Revoke key ${key.prefix} of ${partner.partnerId}`);
      revoke.addEventListener("click", () => revokeKey(partner.partnerId, key.prefix, revoke));
      row.append(revoke);
    }
    list.append(row);
  }
  return list;
}

async function loadPartners() {
  try {
    state.partners = await api.partners();
  } catch (error) {
    showError(error, "Could not load partners");
  }
  renderPartners();
}

async function issueKey(partnerId, button) {
  let issued;
  try {
    issued = await api.issueKey(partnerId);
  } catch (error) {
    showError(error, "No key issued");
    return;
  }
  $("key-dialog-partner").textContent = partnerId;
  $("key-dialog-key").textContent = issued.key;
  const actions = $("key-dialog-actions");
  actions.querySelector(".copy-key")?.remove();
  const copy = copyButton(issued.key, `Copy the key for ${partnerId}`);
  copy.classList.add("copy-key");
  copy.classList.remove("btn-small");
  actions.prepend(copy);
  await loadPartners(); // the new prefix shows in the list behind the dialog
  const dialog = $("key-dialog");
  const closed = ask(dialog);
  copy.focus();
  await closed;
  $("key-dialog-key").textContent = ""; // shown once: gone from the page with the dialog
  copy.remove();
  focusPartner(partnerId, button);
}

async function revokeKey(partnerId, prefix, button) {
  $("revoke-dialog-text").textContent =
    `Key ${prefix} of ${partnerId} stops working at once, on every server. ` +
    "The partner needs a new key to keep booking.";
  if ((await ask($("revoke-dialog"))) !== "revoke") {
    button.focus();
    return;
  }
  await withBusy(button, async () => {
    try {
      await api.revokeKey(prefix);
      const message = `Key ${prefix} of ${partnerId} no longer works.`;
      toaster.show({ kind: "success", title: "Key revoked", message });
    } catch (error) {
      showError(error, "Key not revoked");
    }
    await loadPartners();
  });
  focusPartner(partnerId, button);
}

// After the list is drawn again, the keyboard goes back to the partner it was at.
function focusPartner(partnerId, button) {
  if (button.isConnected) {
    button.focus();
    return;
  }
  const item = [...$("partner-list").children].find((node) => node.dataset.partnerId === partnerId);
  item?.querySelector("button")?.focus();
}

const partnerForm = $("partner-form");
partnerForm.addEventListener("submit", (submit) => {
  submit.preventDefault();
  clearFieldErrors(partnerForm);
  const idInput = partnerForm.elements.namedItem("partnerId");
  const partnerId = idInput.value.trim();
  const name = partnerForm.elements.namedItem("name").value.trim();
  if (!partnerId) {
    setFieldError(idInput, "Enter a partner ID.");
    idInput.focus();
    return;
  }
  withBusy(submit.submitter || partnerForm.querySelector("button[type=submit]"), async () => {
    try {
      await api.createPartner(partnerId, name);
      partnerForm.reset();
      toaster.show({ kind: "success", title: "Partner added", message: `${partnerId} may now be given a key.` });
      await loadPartners();
    } catch (error) {
      showFieldErrors(partnerForm, error, { conflictField: "partnerId" });
      showError(error, "Partner not added");
    }
  });
});

// ------------------------------------------------------------------ allocations

const allocationForm = $("allocation-form");
const eventSelect = $("allocation-event");

async function loadAllocations() {
  const eventId = eventSelect.value;
  if (!eventId) return;
  let partners = [];
  try {
    partners = (await api.stats(eventId)).partners.filter((partner) => partner.allocation !== null);
  } catch (error) {
    showError(error, "Could not load allocations");
  }
  if (eventSelect.value !== eventId) return; // another event was picked meanwhile
  const items = partners.map((partner) => {
    const item = element("li", "allocation-item");
    item.dataset.partnerId = partner.partnerId;
    const taken = partner.confirmedSeats + partner.heldSeats;
    item.append(
      element(
        "span",
        "",
        `${partner.partnerId}: ${partner.allocation.toLocaleString()} seats, ${taken.toLocaleString()} taken`,
      ),
    );
    const remove = element("button", "btn btn-ghost btn-small");
    remove.type = "button";
    remove.dataset.busyLabel = "Removing…";
    remove.append(element("span", "btn-label", "Remove limit"));
    remove.setAttribute("aria-label", `Remove the limit of ${partner.partnerId}`);
    remove.addEventListener("click", () =>
      withBusy(remove, () => setAllocation(eventId, partner.partnerId, null)).then(() => eventSelect.focus()),
    );
    item.append(remove);
    return item;
  });
  $("allocation-list").replaceChildren(...items);
  $("allocations-empty").hidden = items.length > 0;
}

async function setAllocation(eventId, partnerId, seats) {
  try {
    await api.setAllocation(eventId, partnerId, seats);
    const limit = seats === null ? "no limit" : `at most ${seats.toLocaleString()} seats`;
    toaster.show({ kind: "success", title: "Allocation set", message: `${partnerId} in ${eventId}: ${limit}.` });
    await loadAllocations();
    return true;
  } catch (error) {
    showFieldErrors(allocationForm, error);
    showError(error, "Allocation not set");
    return false;
  }
}

allocationForm.addEventListener("submit", (submit) => {
  submit.preventDefault();
  clearFieldErrors(allocationForm);
  const partnerInput = allocationForm.elements.namedItem("partnerId");
  const seatsInput = allocationForm.elements.namedItem("seats");
  const partnerId = partnerInput.value.trim();
  const seats = wholeNumber(seatsInput, "Seats", { optional: true });
  if (!partnerId) setFieldError(partnerInput, "Enter a partner ID.");
  if (seats.problem) setFieldError(seatsInput, seats.problem);
  if (!partnerId || seats.problem) {
    (partnerId ? seatsInput : partnerInput).focus();
    return;
  }
  withBusy(submit.submitter || allocationForm.querySelector("button[type=submit]"), () =>
    setAllocation(eventSelect.value, partnerId, seats.value),
  );
});

for (const input of document.querySelectorAll(".form input")) {
  input.addEventListener("input", () => setFieldError(input, null));
}

async function loadEvents() {
  try {
    state.events = await api.events();
  } catch (error) {
    showError(error, "Could not load events");
  }
  const wanted = new URLSearchParams(location.search).get("event");
  eventSelect.replaceChildren(
    ...state.events.map((summary) =>
      Object.assign(element("option", "", `${summary.name} (${summary.eventId})`), { value: summary.eventId }),
    ),
  );
  if (wanted && state.events.some((summary) => summary.eventId === wanted)) eventSelect.value = wanted;
  await loadAllocations();
}

eventSelect.addEventListener("change", loadAllocations);
loadPartners();
loadEvents();
