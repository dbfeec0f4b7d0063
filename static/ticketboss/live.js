// Live summaries for one event: Server-Sent Events first, polling as the fallback.
// States reported through onState: "connecting", "live", "reconnecting", "polling".

const FALLBACK_AFTER_MS = 4000; // stream not back by then: poll meanwhile
const STREAM_RETRY_MS = 30000; // after the server refused the stream: try it again

export function watchEvent({ streamUrl, fetchSummary, onSummary, onState, pollMs, streams }) {
  let source = null;
  let pollTimer = null;
  let fallbackTimer = null;
  let retryTimer = null;
  let stopped = false;

  async function poll() {
    try {
      onSummary(await fetchSummary());
    } catch {
      // the next poll or the stream will bring it; the state pill already says polling
    }
  }

  function startPolling() {
    if (stopped || pollTimer) return;
    onState("polling");
    poll();
    pollTimer = setInterval(poll, pollMs);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (stopped) return;
    if (!streams || typeof EventSource === "undefined") {
      startPolling();
      return;
    }
    onState(pollTimer ? "polling" : "connecting");
    source = new EventSource(streamUrl);
    source.addEventListener("summary", (message) => onSummary(JSON.parse(message.data)));
    source.addEventListener("open", () => {
      clearTimeout(fallbackTimer);
      fallbackTimer = null;
      stopPolling();
      onState("live");
    });
    source.addEventListener("error", () => {
      if (stopped) return;
      if (source.readyState === EventSource.CLOSED) {
        // Refused (e.g. 503 with streams switched off): poll, and try again later.
        source = null;
        startPolling();
        retryTimer = setTimeout(connect, STREAM_RETRY_MS);
        return;
      }
      // The browser retries by itself (the server's retry: field); poll if that takes long.
      if (!pollTimer) onState("reconnecting");
      if (!fallbackTimer && !pollTimer) fallbackTimer = setTimeout(startPolling, FALLBACK_AFTER_MS);
    });
  }

  connect();
  return function stop() {
    stopped = true;
    if (source) source.close();
    stopPolling();
    clearTimeout(fallbackTimer);
    clearTimeout(retryTimer);
  };
}
