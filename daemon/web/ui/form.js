// Form controls bound to a draft of a config section: each control writes its value into obj[key] as the user types
// and carries the YAML path of that value as data-path, so a 422's problems land next to the right control.
import { loadSection, problemsOf, saveSection } from "./api.js";
import { button, clearProblems, div, field, h, select, showProblems, toast } from "./dom.js";
import { t } from "./i18n.js";

/** Empty text removes the key, so the schema's default applies again (`keepEmpty`: for required keys). */
export function textInput(obj, key, path, { keepEmpty, ...props } = {}) {
  return h("input", {
    value: obj[key] ?? "",
    path,
    ...props,
    oninput: (e) => {
      const v = e.target.value;
      if (v === "" && !keepEmpty) delete obj[key];
      else obj[key] = v;
    },
  });
}

export function numberInput(obj, key, path, props) {
  return h("input", {
    type: "number",
    inputmode: "numeric",
    value: obj[key] ?? "",
    path,
    ...props,
    oninput: (e) => {
      const v = e.target.value.trim();
      if (v === "") delete obj[key];
      else obj[key] = Number(v);
    },
  });
}

export function checkInput(obj, key, path, props) {
  return h("input", {
    type: "checkbox",
    checked: Boolean(obj[key]),
    path,
    ...props,
    onchange: (e) => {
      obj[key] = e.target.checked;
      props?.onchange?.(e);
    },
  });
}

/** options as for select(); the value "" removes the key; `fallback` is shown while the key is unset (the default). */
export function selectInput(obj, key, options, path, { fallback, onpick, ...props } = {}) {
  const el = select(options, obj[key] ?? fallback ?? "", { path, ...props });
  el.addEventListener("change", () => {
    if (el.value === "") delete obj[key];
    else obj[key] = el.value;
    onpick?.(el.value);
  });
  return el;
}

/** A textarea of one entry per line, stored as a list of strings. */
export function linesInput(obj, key, path, props) {
  return h("textarea", {
    rows: 3,
    value: (obj[key] ?? []).join("\n"),
    path,
    ...props,
    oninput: (e) => {
      obj[key] = e.target.value
        .split("\n")
        .map((s) => s.trim())
        .filter(Boolean);
    },
  });
}

/** A comma separated list, stored as a list of strings. */
export function listInput(obj, key, path, props) {
  return h("input", {
    value: (obj[key] ?? []).join(", "),
    path,
    ...props,
    oninput: (e) => {
      obj[key] = e.target.value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    },
  });
}

/** Transfer target editor: kind (agent, queue, number, SIP URI) and its value. */
export function targetInput(obj, key, path, { agents = [], queues = [], optional = true } = {}) {
  const current = obj[key] ?? {};
  const kindOf = (x) => ["agent", "queue", "number", "sip"].find((k) => k in x) ?? "";
  let kind = kindOf(current);
  const value = h("input", { value: kind ? current[kind] : "", path: `${path}.${kind || "agent"}`, list: "" });
  const trunk = h("input", {
    value: current.trunk ?? "",
    placeholder: t("target.trunk"),
    "aria-label": t("target.trunk"),
  });
  const lists = { agent: agents, queue: queues };
  const dl = h("datalist", { id: `dl-${path.replace(/[^a-z0-9]/gi, "-")}` });
  value.setAttribute("list", dl.id);
  const options = [
    ["agent", t("target.agent")],
    ["queue", t("target.queue")],
    ["number", t("target.number")],
    ["sip", t("target.sip")],
  ];
  if (optional) options.unshift(["", t("target.none")]);
  const kindSel = select(options, kind, { path, "aria-label": t("target.kind") });
  const write = () => {
    if (!kind) delete obj[key];
    else {
      const o = { [kind]: value.value.trim() };
      if (kind === "number" && trunk.value.trim()) o.trunk = trunk.value.trim();
      obj[key] = o;
    }
  };
  const refresh = () => {
    value.hidden = !kind;
    trunk.hidden = kind !== "number";
    value.setAttribute("data-path", `${path}.${kind || "agent"}`);
    value.placeholder = kind === "sip" ? "sip:100@pbx" : kind === "number" ? "+4930…" : "";
    dl.replaceChildren(...(lists[kind] ?? []).map((v) => h("option", { value: v })));
  };
  kindSel.addEventListener("change", () => {
    kind = kindSel.value;
    refresh();
    write();
  });
  value.addEventListener("input", write);
  trunk.addEventListener("input", write);
  value.setAttribute("aria-label", t("target.value"));
  refresh();
  return div("row target", kindSel, value, trunk, dl);
}

/**
 * A page that edits one config section: loads {version, value}, lets `draw(value, body, redraw, replace)` build the
 * form into `body`,
 * and saves the draft with the version it was read at. 422 problems land at their fields.
 */
export async function sectionEditor(main, name, draw, { title, testid = "section-save", after, empty } = {}) {
  const body = h("div", { class: "section-body" });
  const saveBtn = h("button", { type: "submit", class: "primary", testid }, t("common.save"));
  const form = h("form", { class: "section-form", novalidate: true }, body, div("row end sticky-actions", saveBtn));
  if (title) main.append(h("h1", null, title));
  main.append(form);
  let state = await loadSection(name);
  // An absent section (no trunks yet, store all defaults) is edited from its empty form.
  if ((state.value === undefined || state.value === null) && empty !== undefined)
    state = { version: state.version, value: structuredClone(empty) };
  const redraw = () => {
    body.replaceChildren();
    draw(state.value, body, redraw, replace);
  };
  /** For sections that may be absent (routing): the page creates the value, then edits it. */
  const replace = (value) => {
    state = { version: state.version, value };
    redraw();
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblems(form);
    saveBtn.disabled = true;
    try {
      const r = await saveSection(name, state.version, state.value);
      state = { version: r.version, value: state.value };
      // restartNeeded lists the sections that only take effect after a restart.
      const restart = Array.isArray(r.restartNeeded) ? r.restartNeeded.length > 0 : Boolean(r.restartNeeded);
      toast(restart ? t("common.savedRestart") : t("common.saved"));
      after?.(state.value);
    } catch (err) {
      showProblems(
        form,
        problemsOf(err).map((p) => ({ ...p, path: p.path ?? "" })),
      );
      const text = err.status === 409 ? t("common.conflict") : err.status === 422 ? t("problems.toast") : err.message;
      toast(text, "error");
    } finally {
      saveBtn.disabled = false;
    }
  });
  redraw();
  return {
    get value() {
      return state.value;
    },
    redraw,
    form,
  };
}

/** A removable row's delete button. */
export function removeButton(onclick, label = t("common.remove")) {
  return button("✕", onclick, { class: "icon", "aria-label": label, title: label });
}

export { field };
