// The organizer API (CONTRACT.md "Events and partners"), on top of the dashboard's client:
// the same errors (ApiError with the server's sentence and per-field details), and the
// signed-in organizer's CSRF token on every write.

import { createApi } from "../api.js";

const segment = encodeURIComponent;

export function createConsoleApi(root, { csrfToken }) {
  const base = createApi(root, { csrfToken });
  const { request } = base;
  const eventPath = (eventId) => `events/${segment(eventId)}`;

  function reservationsPath(eventId, { partnerId = "", status = "", limit = 0 } = {}) {
    const query = new URLSearchParams();
    if (partnerId) query.set("partnerId", partnerId);
    if (status) query.set("status", status);
    if (limit) query.set("limit", String(limit));
    const text = query.toString();
    return `${eventPath(eventId)}/reservations${text ? `?${text}` : ""}`;
  }

  return {
    ...base,
    createEvent: (fields) => request("POST", "events", { body: fields }),
    updateEvent: (eventId, changes) => request("PATCH", eventPath(eventId), { body: changes }),
    setAllocation: (eventId, partnerId, seats) =>
      request("PUT", `${eventPath(eventId)}/allocations/${segment(partnerId)}`, { body: { seats } }),
    stats: (eventId) => request("GET", `${eventPath(eventId)}/stats`),
    // A page of reservations; `pageUrl` is a `next` or `previous` link of an earlier page.
    reservations: (eventId, filters) => request("GET", reservationsPath(eventId, filters)),
    reservationPage: (pageUrl) => request("GET", pageUrl),
    csvUrl: (eventId) => new URL(`${eventPath(eventId)}/export.csv`, root).href,
    partners: () => request("GET", "partners"),
    createPartner: (partnerId, name) =>
      request("POST", "partners", { body: name ? { partnerId, name } : { partnerId } }),
    issueKey: (partnerId) => request("POST", `partners/${segment(partnerId)}/keys`),
    revokeKey: (prefix) => request("DELETE", `keys/${segment(prefix)}`),
  };
}
