// Chats: one card per call, newest first, filtered by date, status, agent, caller and free text. The filters live in
// the address (#/chats?status=new), so a reload or a shared link shows the same list. Staff set the status here.
import { api, withQuery } from "../api.js";
import { badge, button, div, empty, failure, field, h, para, select, span, toast } from "../dom.js";
import { fmtDateTime, fmtDuration, t, tv } from "../i18n.js";

const FILTERS = ["from", "to", "status", "agent", "caller", "q"];
export const STATUSES = ["new", "in_progress", "done"];

export function render(main, { user, query, navigate }) {
  const f = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) ?? ""]));
  const inputs = {
    from: h("input", { type: "date", value: f.from, testid: "filter-from" }),
    to: h("input", { type: "date", value: f.to, testid: "filter-to" }),
    status: select([["", t("chats.all")], ...STATUSES.map((s) => [s, t(`status.${s}`)])], f.status, {
      testid: "filter-status",
    }),
    agent: h("input", { value: f.agent, list: "agent-list", testid: "filter-agent" }),
    caller: h("input", { value: f.caller, inputmode: "tel", testid: "filter-caller" }),
    q: h("input", { type: "search", value: f.q, testid: "filter-q" }),
  };
  const agentList = h("datalist", { id: "agent-list" });
  const form = h(
    "form",
    { class: "filters card", role: "search", testid: "chat-filters" },
    field(t("chats.q"), inputs.q),
    field(t("chats.from"), inputs.from),
    field(t("chats.to"), inputs.to),
    field(t("chats.status"), inputs.status),
    field(t("chats.agent"), inputs.agent),
    field(t("chats.caller"), inputs.caller),
    agentList,
    div(
      "row end",
      button(t("chats.reset"), () => navigate("chats")),
      h("button", { type: "submit", class: "primary", testid: "filter-apply" }, t("chats.apply")),
    ),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = {};
    for (const k of FILTERS) if (inputs[k].value.trim()) q[k] = inputs[k].value.trim();
    navigate("chats", q);
  });
  const list = h("div", { class: "cards", testid: "chat-list" });
  const total = h("p", { class: "muted", testid: "chat-total" });
  const more = button(t("chats.more"), () => load(), { hidden: true, testid: "chat-more" });
  const exports =
    user.role === "admin"
      ? div(
          "row",
          h(
            "a",
            { class: "button", href: withQuery("/api/exports/calls.csv", f), download: "", testid: "export-csv" },
            t("chats.csv"),
          ),
          h(
            "a",
            { class: "button", href: withQuery("/api/exports/calls.xlsx", f), download: "", testid: "export-xlsx" },
            t("chats.xlsx"),
          ),
        )
      : null;
  main.append(div("row between", h("h1", null, t("nav.chats")), exports), form, total, list, more);

  let cursor;
  const agents = new Set();
  async function load() {
    more.disabled = true;
    try {
      const r = await api.get("/api/calls", { ...f, limit: 50, cursor });
      if (!cursor && !r.items.length) list.append(empty(t("chats.none")));
      for (const c of r.items) {
        list.append(chatCard(c, { link: true }));
        for (const a of c.agents ?? []) agents.add(a);
      }
      agentList.replaceChildren(...[...agents].sort().map((a) => h("option", { value: a })));
      total.textContent = t("chats.total", { n: r.total ?? list.childElementCount });
      cursor = r.nextCursor;
      more.hidden = !cursor;
    } catch (err) {
      list.append(failure(err));
    } finally {
      more.disabled = false;
    }
  }
  load();
}

/** The card of one call; `link` makes the caller a link to the detail page. */
export function chatCard(c, { link = false, big = false } = {}) {
  const who = c.caller || t("common.unknown");
  const status = statusSelect(c);
  return h(
    "article",
    { class: `card chat ${big ? "big" : ""} st-${c.status}`, testid: "chat-card", "data-call": c.id },
    h(
      "header",
      { class: "row between" },
      h(
        "div",
        null,
        h(
          "h2",
          { class: "caller" },
          link ? h("a", { href: `#/chats/${encodeURIComponent(c.id)}`, testid: "chat-open" }, who) : who,
        ),
        h(
          "small",
          { class: "muted" },
          c.direction === "outbound" ? `↗ ${t("chats.outbound")}` : `↘ ${t("chats.inbound")}`,
          " · ",
          h("time", { datetime: new Date(c.startedAt).toISOString() }, fmtDateTime(c.startedAt)),
          c.durationMs !== undefined ? ` · ${fmtDuration(c.durationMs)}` : "",
          c.did ? ` · ${c.did}` : "",
        ),
      ),
      status,
    ),
    para("summary", c.summary || t("chats.noSummary")),
    div(
      "row wrap meta",
      c.lastAgent ? badge(`${t("chats.agent")}: ${c.lastAgent}`, "info") : null,
      c.leadGrade ? badge(`${t("chats.lead")}: ${c.leadGrade}`, `lead-${c.leadGrade}`) : null,
      c.outcome ? badge(tv("outcome.", c.outcome)) : null,
      c.escalation ? badge(`${t("chats.escalation")}: ${tv("escalation.", c.escalation)}`, "warn") : null,
      c.transferredTo ? badge(`→ ${c.transferredTo}`) : null,
      c.hasRecording ? badge(`● ${t("chats.recorded")}`) : null,
      (c.tags ?? []).map((x) => span("tag", x)),
    ),
  );
}

function statusSelect(c) {
  const sel = select(
    STATUSES.map((s) => [s, t(`status.${s}`)]),
    c.status,
    { testid: "chat-status", "aria-label": t("chats.status"), class: `status st-${c.status}` },
  );
  sel.addEventListener("change", async () => {
    const before = c.status;
    sel.disabled = true;
    try {
      const r = await api.patch(`/api/calls/${encodeURIComponent(c.id)}`, { status: sel.value });
      c.status = r?.status ?? sel.value;
      sel.className = `status st-${c.status}`;
      sel.closest(".chat")?.classList.replace(`st-${before}`, `st-${c.status}`);
      toast(t("chats.statusSaved", { status: t(`status.${c.status}`) }));
    } catch (err) {
      sel.value = before;
      toast(err.message, "error");
    } finally {
      sel.disabled = false;
    }
  });
  return sel;
}
