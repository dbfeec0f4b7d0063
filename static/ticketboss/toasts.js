// Toasts in two ARIA live regions: role=status for good news, role=alert for errors.
// All text goes in through textContent, never as HTML.

const MAX_TOASTS = 4;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = element("textarea", "visually-hidden");
    area.value = text;
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    return copied;
  }
}

export function copyButton(text, label) {
  const button = element("button", "btn btn-ghost btn-small", "Copy");
  button.type = "button";
  button.setAttribute("aria-label", label);
  button.addEventListener("click", async () => {
    button.textContent = (await copyText(text)) ? "Copied" : "Copy failed";
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });
  return button;
}

export function createToaster({ statusRegion, alertRegion }) {
  function show({ kind = "success", title, message, code, timeout }) {
    const region = kind === "error" ? alertRegion : statusRegion;
    const toast = element("div", `toast toast-${kind}`);
    const text = element("div", "toast-text");
    text.append(element("p", "toast-title", title));
    if (message) text.append(element("p", "toast-message", message));
    if (code) {
      const row = element("p", "toast-code");
      row.append(element("code", "", code), copyButton(code, "Copy reservation ID"));
      text.append(row);
    }
    const close = element("button", "toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss notification");
    toast.append(text, close);

    let timer = null;
    const remove = () => {
      clearTimeout(timer);
      toast.classList.add("toast-leaving");
      setTimeout(() => toast.remove(), 200);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(remove, timeout || (kind === "error" ? 9000 : 7000));
    };
    close.addEventListener("click", remove);
    // Never take a toast away while the user is reading or copying from it.
    toast.addEventListener("mouseenter", () => clearTimeout(timer));
    toast.addEventListener("focusin", () => clearTimeout(timer));
    toast.addEventListener("mouseleave", arm);
    arm();

    region.append(toast);
    const all = [...statusRegion.children, ...alertRegion.children];
    all.slice(0, Math.max(0, all.length - MAX_TOASTS)).forEach((old) => old.remove());
    return toast;
  }
  return { show };
}
