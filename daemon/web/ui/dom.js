// A small DOM builder and the shared widgets. Every text goes in as a text node (never innerHTML), so nothing the
// API returns can become markup; styles come from classes (the CSP forbids inline style attributes).
import { t } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const PROPS = new Set([
  "value",
  "checked",
  "selected",
  "disabled",
  "hidden",
  "multiple",
  "required",
  "readOnly",
  "open",
]);
let ids = 0;

/** h("button", { class: "primary", onclick, testid: "x" }, "Save"); "svg:rect" makes SVG elements. */
export function h(tag, props, ...kids) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "testid") el.setAttribute("data-testid", v);
    else if (k === "path") el.setAttribute("data-path", v);
    else if (PROPS.has(k) && !svg) el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  add(el, kids);
  return el;
}

function add(el, kids) {
  for (const k of kids) {
    if (k === undefined || k === null || k === false) continue;
    if (Array.isArray(k)) add(el, k);
    else el.append(k instanceof Node ? k : String(k));
  }
}

/** div("row end", a, b): an element with only a class, the most common case. */
export const div = (cls, ...kids) => h("div", { class: cls }, ...kids);
export const span = (cls, ...kids) => h("span", { class: cls }, ...kids);
export const para = (cls, ...kids) => h("p", { class: cls }, ...kids);

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function uid(prefix = "f") {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled form field: the label points at the control, a hint and the field's error go below it. */
export function field(label, control, hint) {
  if (!control.id) control.id = uid();
  const kids = [h("label", { for: control.id }, label), control];
  if (hint) {
    const hintId = uid("hint");
    control.setAttribute("aria-describedby", hintId);
    kids.push(h("small", { id: hintId, class: "hint" }, hint));
  }
  return div("field", kids);
}

/** options: [[value, label], ...] or plain strings. */
export function select(options, value, props) {
  const el = h("select", props);
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    el.append(h("option", { value: v, selected: v === value }, label));
  }
  if (value !== undefined) el.value = value;
  return el;
}

export function button(label, onclick, props) {
  return h("button", { type: "button", ...props, onclick }, label);
}

export function card(title, ...kids) {
  return h("section", { class: "card" }, title ? h("h2", null, title) : null, kids);
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind ?? ""}` }, text);
}

/** Disables the button while the work runs, so a double click does not send twice. */
export async function busy(btn, work) {
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
  }
}

export function toast(message, kind = "ok") {
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const el = h("div", { class: `toast ${kind}`, testid: "toast" }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

/** A modal question; with `typed`, the user must type that text (e.g. the number to delete) before confirming. */
export function confirmDialog(message, { typed, ok = t("common.confirm"), danger = false } = {}) {
  return new Promise((resolve) => {
    const input = typed ? h("input", { testid: "confirm-input", autocomplete: "off" }) : null;
    const yes = h("button", { type: "submit", class: danger ? "danger" : "primary", testid: "confirm-ok" }, ok);
    const no = button(t("common.cancel"), () => dlg.close("no"), { testid: "confirm-cancel" });
    const form = h("form", { method: "dialog" }, h("p", null, message), input ? field(typed, input) : null, [
      div("row end", no, yes),
    ]);
    const dlg = h("dialog", { class: "dialog" }, form);
    if (input) {
      yes.disabled = true;
      input.addEventListener("input", () => {
        yes.disabled = input.value.trim() !== typed;
      });
    }
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      dlg.close("yes");
    });
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(dlg.returnValue === "yes");
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Splits "routing.windows[0].weekly.mon[1]" into ever shorter parents, the path itself first. */
export function pathParents(path) {
  const out = [];
  let p = path;
  while (p) {
    out.push(p);
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    p = cut > 0 ? p.slice(0, cut) : "";
  }
  return out;
}

/** ["agents", 0, "flow"] -> "agents[0].flow" */
export function pathOf(parts) {
  return parts.reduce((s, p) => (typeof p === "number" ? `${s}[${p}]` : s ? `${s}.${p}` : p), "");
}

export function clearProblems(root) {
  for (const el of root.querySelectorAll(".field-error")) el.remove();
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of root.querySelectorAll(".problem-summary")) el.remove();
}

/**
 * Puts each problem next to the control whose data-path is the problem's path (or its nearest parent on the page) and
 * lists all of them in a summary at the top of `root`. Returns how many found a control.
 */
export function showProblems(root, problems, title = t("problems.title")) {
  clearProblems(root);
  if (!problems.length) return 0;
  let placed = 0;
  const items = problems.map((p) => {
    const target = findPathElement(root, p.path ?? "");
    const msg = h("p", { class: "field-error", testid: "field-error", role: "alert" }, p.message);
    if (target) {
      placed += 1;
      target.setAttribute("aria-invalid", "true");
      msg.id = uid("err");
      target.setAttribute("aria-errormessage", msg.id);
      const holder = target.closest(".field");
      if (holder) holder.append(msg);
      else target.after(msg);
    }
    const label = p.path ? `${p.path}: ${p.message}` : p.message;
    return h(
      "li",
      null,
      target ? h("button", { type: "button", class: "link", onclick: () => target.focus() }, label) : label,
    );
  });
  const summary = h(
    "div",
    { class: "problem-summary", role: "alert", testid: "problem-summary" },
    h("strong", null, title),
    h("ul", null, items),
  );
  root.prepend(summary);
  summary.scrollIntoView?.({ block: "nearest" });
  return placed;
}

function findPathElement(root, path) {
  for (const p of pathParents(path)) {
    const el = root.querySelector(`[data-path="${CSS.escape(p)}"]`);
    if (el) return el;
  }
  return null;
}

/** A tiny table: heads are labels, rows are arrays of cells (strings or nodes). */
export function table(heads, rows, props) {
  return div(
    "table-wrap",
    h(
      "table",
      props,
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          heads.map((x) => h("th", { scope: "col" }, x)),
        ),
      ),
      h(
        "tbody",
        null,
        rows.map((r) =>
          r instanceof Node
            ? r
            : h(
                "tr",
                null,
                r.map((c) => h("td", null, c)),
              ),
        ),
      ),
    ),
  );
}

export function empty(text) {
  return h("p", { class: "empty" }, text);
}

/** The error of a failed load, shown in place of the page. */
export function failure(err) {
  return h("div", { class: "problem-summary", role: "alert" }, err?.message ?? String(err));
}
