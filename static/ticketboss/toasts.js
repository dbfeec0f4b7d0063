// Toasts in two ARIA live regions: role=status for good news, role=alert for errors.
// All text goes in through textContent, never as HTML.
//
// A toast must never sit on a control the user needs next (reserve, copy the id from the
// toast, paste it, click Cancel): the stack takes the viewport corner that covers the
// fewest of the page's controls, above all those of the form being used, and moves when
// scrolling, resizing or focus would put one under it. Where no corner is clear (a small
// phone), clicks pass through the toast to the page; only its own buttons take them.

const MAX_TOASTS = 4;
const PLACES = ["bottom-right", "bottom-left", "top-right", "top-left"]; // preferred first
const CONTROLS = "a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])";
const IN_USE_WEIGHT = 100; // a control of the form being used outweighs all the others
const FOOTER_WEIGHT = 0.1; // the footer's links are rarely what comes next
const TOP_COST = 0.5; // the top holds the page's title and figures: the bottom is preferred

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

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

// The page's visible controls (not the toasts' own), weighted: the focused one's form first.
function visibleControls(stack) {
  const active = document.activeElement;
  const inUse = active && active !== document.body ? active.closest("form, .card") : null;
  const height = document.documentElement.clientHeight;
  const controls = [];
  for (const node of document.querySelectorAll(CONTROLS)) {
    if (stack.contains(node)) continue;
    const rect = node.getBoundingClientRect();
    if (!rect.width || !rect.height || rect.bottom <= 0 || rect.top >= height) continue;
    let weight = node.closest("footer") ? FOOTER_WEIGHT : 1;
    if (inUse && inUse.contains(node)) weight = IN_USE_WEIGHT;
    controls.push({ rect, weight });
  }
  return controls;
}

function keepClear(stack) {
  let pending = false;

  function place() {
    pending = false;
    if (!stack.querySelector(".toast")) return;
    const controls = visibleControls(stack);
    const covered = (where) => {
      stack.dataset.place = where;
      const box = stack.getBoundingClientRect();
      return controls.reduce((sum, c) => sum + (overlaps(box, c.rect) ? c.weight : 0), 0);
    };
    const cost = (where) => covered(where) + (where.startsWith("top") ? TOP_COST : 0);
    const current = stack.dataset.place || PLACES[0];
    let best = current;
    let bestCost = cost(current);
    for (const where of PLACES) {
      const candidate = cost(where);
      if (candidate < bestCost) [best, bestCost] = [where, candidate];
    }
    const stillCovers = covered(best) > 0; // (and leaves the stack there)
    // Over a control all the same (a small screen): clicks go through to it.
    stack.toggleAttribute("data-passthrough", stillCovers);
  }

  function schedule() {
    if (pending || !stack.querySelector(".toast")) return;
    pending = true;
    requestAnimationFrame(place);
  }

  window.addEventListener("scroll", schedule, { passive: true, capture: true });
  window.addEventListener("resize", schedule, { passive: true });
  document.addEventListener("focusin", schedule);
  return place;
}

export function createToaster({ statusRegion, alertRegion }) {
  const place = keepClear(statusRegion.parentElement);

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
      setTimeout(() => {
        toast.remove();
        place();
      }, 200);
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
    place(); // before the first paint: it never shows over a control, not even for a frame
    return toast;
  }
  return { show };
}
