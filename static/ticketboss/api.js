// The HTTP contract (CONTRACT.md) and nothing else: every call returns data or throws
// an ApiError carrying the server's own sentence, or a NetworkError.

export class ApiError extends Error {
  constructor(status, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.details = details || null;
  }
}

export class NetworkError extends Error {
  constructor() {
    super("The server could not be reached. Check your connection and try again.");
    this.name = "NetworkError";
  }
}

// `csrfToken`: a signed-in organizer's page sends it with every write (keys mode).
export function createApi(root, { csrfToken = "" } = {}) {
  const url = (path) => new URL(path, root).href;
  const eventPath = (eventId) => `events/${encodeURIComponent(eventId)}`;

  async function request(method, path, { body, headers = {} } = {}) {
    const init = { method, cache: "no-store", headers: { Accept: "application/json", ...headers } };
    if (csrfToken && method !== "GET") init.headers["X-CSRFToken"] = csrfToken;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url(path), init);
    } catch {
      throw new NetworkError();
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message = (data && data.error) || `The server answered ${response.status}.`;
      throw new ApiError(response.status, message, data && data.details);
    }
    return data;
  }

  return {
    request, // for pages with calls of their own (the organizer console)
    events: () => request("GET", "events"),
    summary: (eventId) => request("GET", eventPath(eventId)),
    reserve: (eventId, partnerId, seats, idempotencyKey) =>
      request("POST", `${eventPath(eventId)}/reservations`, {
        body: { partnerId, seats },
        headers: idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {},
      }),
    hold: (eventId, partnerId, seats, idempotencyKey) =>
      request("POST", `${eventPath(eventId)}/holds`, {
        body: { partnerId, seats },
        headers: idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {},
      }),
    confirm: (reservationId) =>
      request("POST", `reservations/${encodeURIComponent(reservationId)}/confirm`),
    reservation: (reservationId) =>
      request("GET", `reservations/${encodeURIComponent(reservationId)}`),
    cancel: (reservationId) => request("DELETE", `reservations/${encodeURIComponent(reservationId)}`),
    streamUrl: (eventId) => url(`${eventPath(eventId)}/stream`),
  };
}
