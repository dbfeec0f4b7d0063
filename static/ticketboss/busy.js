// A button while its work runs: disabled, a spinner and a busy label, so a double click
// sends once; back as it was when the work ends, whatever happened.

export async function withBusy(button, work) {
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
