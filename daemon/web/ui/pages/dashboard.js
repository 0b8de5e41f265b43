// Dashboard: trunk registrations, the calls running now (with a ticking duration), the queues and today's KPIs. The
// first picture comes from GET /api/live and /api/kpis; the live events keep it current without polling.
import { api } from "../api.js";
import { badge, card, clear, div, empty, failure, h, span } from "../dom.js";
import { fmtDuration, fmtMs, fmtNumber, fmtPct, t, tv } from "../i18n.js";
import * as live from "../live.js";

export function render(main) {
  const calls = new Map();
  const trunks = new Map();
  let queues = [];
  const kpiBox = h("div", { class: "kpis", testid: "kpis" });
  const trunkBox = h("div", { testid: "trunks" });
  const callBox = h("div", { testid: "live-calls" });
  const queueBox = h("div", { testid: "queues" });
  const warnBox = h("div", { testid: "health-warnings" });
  main.append(
    h("h1", null, t("nav.dashboard")),
    warnBox,
    kpiBox,
    div(
      "grid2",
      card(t("dash.live"), callBox),
      h("div", null, card(t("dash.trunks"), trunkBox), card(t("dash.queues"), queueBox)),
    ),
  );

  const drawCalls = () => {
    clear(callBox);
    const list = [...calls.values()].sort((a, b) => a.startedAt - b.startedAt);
    if (!list.length) return callBox.append(empty(t("dash.noCalls")));
    for (const c of list) {
      const dur = h("span", { class: "mono", "data-since": c.answeredAt ?? c.startedAt });
      callBox.append(
        h(
          "div",
          { class: "live-call", testid: "live-call", "data-call": c.id },
          span("dir", c.direction === "outbound" ? "↗" : "↘"),
          div("grow", h("strong", null, c.caller || t("common.unknown")), h("small", null, c.did ?? "")),
          h("span", null, c.agent ?? "–"),
          badge(tv("live.", c.state), c.state),
          dur,
        ),
      );
    }
    tick();
  };
  const tick = () => {
    for (const el of callBox.querySelectorAll("[data-since]"))
      el.textContent = fmtDuration(Date.now() - Number(el.dataset.since));
  };
  const drawTrunks = () => {
    clear(trunkBox);
    if (!trunks.size) return trunkBox.append(empty(t("dash.noTrunks")));
    for (const tr of trunks.values())
      trunkBox.append(
        h(
          "div",
          { class: "row between", testid: "trunk-state", "data-trunk": tr.id },
          h("strong", null, tr.id),
          h("span", null, badge(tv("trunk.", tr.state), trunkKind(tr.state)), " ", tr.detail ?? ""),
        ),
      );
  };
  const drawQueues = () => {
    clear(queueBox);
    if (!queues.length) return queueBox.append(empty(t("dash.noQueues")));
    for (const q of queues) {
      const waiting = q.waiting ?? [];
      const longest = Math.max(0, ...waiting.map((w) => w.waitedMs ?? 0));
      const free = (q.members ?? []).filter((m) => m.state === "idle").length;
      queueBox.append(
        h(
          "div",
          { class: "row between", testid: "queue-row", "data-queue": q.id },
          h("strong", null, q.name ?? q.id),
          h(
            "span",
            null,
            t("dash.waiting", { n: waiting.length }),
            ` · ${t("dash.free", { n: free })}`,
            waiting.length ? ` · ${t("dash.longest", { d: fmtDuration(longest) })}` : "",
          ),
        ),
      );
    }
  };
  const drawKpis = (k) => {
    clear(kpiBox);
    const tile = (id, label, value, sub) =>
      h(
        "div",
        { class: "kpi", testid: `kpi-${id}` },
        span("kpi-label", label),
        h("strong", null, value),
        sub ? h("small", null, sub) : null,
      );
    kpiBox.append(
      tile("calls", t("kpi.calls"), fmtNumber(k.calls), t("kpi.answered", { n: fmtNumber(k.answered ?? 0) })),
      tile("ai", t("kpi.ai"), fmtNumber(k.handledByAi), k.calls ? fmtPct(k.handledByAi / k.calls) : ""),
      tile("transferred", t("kpi.transferred"), fmtNumber(k.transferred)),
      tile("abandoned", t("kpi.abandoned"), fmtNumber(k.abandoned)),
      tile("aht", t("kpi.aht"), fmtDuration(k.avgHandleMs ?? 0)),
      tile("fcr", t("kpi.fcr"), fmtPct(k.firstCallResolution ?? 0)),
      tile("latency", t("kpi.latency"), fmtMs(k.avgResponseLatencyMs)),
    );
  };
  const loadKpis = () =>
    api
      .get("/api/kpis") // without a day: today in the box's time zone
      .then(drawKpis)
      .catch((e) => clear(kpiBox).append(failure(e)));

  const showWarnings = (list) => {
    clear(warnBox);
    if (list?.length)
      warnBox.append(
        h(
          "div",
          { class: "banner warn", role: "status" },
          t("dash.health"),
          h(
            "ul",
            null,
            list.map((w) => h("li", null, w)),
          ),
        ),
      );
  };

  // The event stream starts (and after a reconnect restarts) with the same snapshot GET /api/live answers.
  const snapshot = (l) => {
    calls.clear();
    trunks.clear();
    for (const c of l?.calls ?? []) calls.set(c.id, c);
    for (const tr of l?.trunks ?? []) trunks.set(tr.id, tr);
    queues = l?.queues ?? [];
    drawCalls();
    drawTrunks();
    drawQueues();
  };
  api
    .get("/api/live")
    .then(snapshot)
    .catch((e) => clear(callBox).append(failure(e)));
  loadKpis();

  let kpiTimer;
  const offs = [
    live.on("snapshot", snapshot),
    live.on("call", (e) => {
      if (!e?.call?.id) return;
      if (e.type === "ended") {
        calls.delete(e.call.id);
        clearTimeout(kpiTimer);
        kpiTimer = setTimeout(loadKpis, 1500);
      } else calls.set(e.call.id, { ...calls.get(e.call.id), ...e.call });
      drawCalls();
    }),
    live.on("trunk", (e) => {
      if (!e?.id) return;
      trunks.set(e.id, e);
      drawTrunks();
    }),
    live.on("queue", (e) => {
      queues = e?.queues ?? [];
      drawQueues();
    }),
    live.on("health", (e) => showWarnings(e?.warnings ?? (e?.warning ? [e.warning] : []))),
  ];
  const ticker = setInterval(tick, 1000);
  const kpiEvery = setInterval(loadKpis, 60_000);
  return () => {
    clearInterval(ticker);
    clearInterval(kpiEvery);
    clearTimeout(kpiTimer);
    for (const off of offs) off();
  };
}

function trunkKind(state) {
  if (state === "registered" || state === "up" || state === "ok") return "ok";
  if (state === "failed" || state === "error" || state === "unreachable") return "bad";
  return "";
}
