// System: version and uptime, the box's health (CPU, temperature, memory, disk), the speech engines and models in
// use, and the recent log lines (secrets are already redacted by the daemon).
import { api } from "../api.js";
import { badge, button, card, clear, div, empty, failure, field, h, para, select, span, table } from "../dom.js";
import { fmtBytes, fmtDateTime, fmtNumber, fmtUptime, t, tv } from "../i18n.js";

const LEVELS = ["trace", "debug", "info", "warn", "error"];

export async function render(main) {
  main.append(h("h1", null, t("nav.system")));
  const s = await api.get("/api/system");
  const hl = s.health ?? {};
  const meter = (label, used, total, text, testid) =>
    h(
      "div",
      { class: "meter-row", testid },
      h("span", null, label),
      h("meter", {
        min: 0,
        max: total || 1,
        value: used,
        low: (total || 1) * 0.7,
        high: (total || 1) * 0.9,
        optimum: 0,
      }),
      h("small", null, text),
    );
  main.append(
    div(
      "grid2",
      card(
        t("system.box"),
        h(
          "dl",
          { class: "kv" },
          h("dt", null, t("system.version")),
          h("dd", { testid: "system-version" }, s.version),
          h("dt", null, t("system.configVersion")),
          h("dd", { class: "mono" }, s.configVersion),
          h("dt", null, t("system.uptime")),
          h("dd", null, fmtUptime(s.uptimeS)),
        ),
      ),
      card(
        t("system.health"),
        meter(t("system.cpu"), hl.cpuLoadPct ?? 0, 100, `${fmtNumber(Math.round(hl.cpuLoadPct ?? 0))} %`, "health-cpu"),
        meter(
          t("system.memory"),
          hl.memUsedBytes ?? 0,
          hl.memTotalBytes ?? 0,
          `${fmtBytes(hl.memUsedBytes)} / ${fmtBytes(hl.memTotalBytes)}`,
          "health-mem",
        ),
        meter(
          t("system.disk"),
          (hl.diskTotalBytes ?? 0) - (hl.diskFreeBytes ?? 0),
          hl.diskTotalBytes ?? 0,
          t("system.diskFree", { free: fmtBytes(hl.diskFreeBytes) }),
          "health-disk",
        ),
        hl.temperatureC !== undefined && hl.temperatureC !== null
          ? meter(t("system.temperature"), hl.temperatureC, 100, `${fmtNumber(hl.temperatureC)} °C`, "health-temp")
          : null,
        hl.warnings?.length
          ? h(
              "ul",
              { class: "banner warn" },
              hl.warnings.map((w) => h("li", null, w)),
            )
          : para("ok-text", t("system.healthy")),
      ),
    ),
    card(
      t("system.speech"),
      h(
        "dl",
        { class: "kv" },
        Object.entries(s.speech ?? {}).map(([k, v]) => [
          h("dt", null, tv("system.engine.", k)),
          h("dd", null, typeof v === "string" ? v : v ? JSON.stringify(v) : badge(t("system.none"), "warn")),
        ]),
      ),
      s.models?.length
        ? table(
            [t("system.task"), t("system.model"), t("system.modelVersion"), t("system.source"), t("system.language")],
            s.models.map((m) => [m.task, m.name, m.version ?? "", m.source ?? "", m.language ?? ""]),
            { testid: "models" },
          )
        : empty(t("system.noModels")),
    ),
  );

  const level = select([["", t("system.allLevels")], ...LEVELS.map((l) => [l, l])], "", {
    testid: "log-level",
    "aria-label": t("system.level"),
  });
  const logBox = h("div", { class: "log", testid: "logs", tabindex: "0" });
  const loadLogs = async () => {
    clear(logBox);
    try {
      const r = await api.get("/api/system/logs", { limit: 300, level: level.value });
      if (!r.items?.length) return logBox.append(empty(t("system.noLogs")));
      for (const l of r.items)
        logBox.append(
          h(
            "div",
            { class: `log-line lv-${l.level}` },
            span("muted", fmtDateTime(typeof l.time === "number" ? l.time : Date.parse(l.time), true)),
            " ",
            span("lv", l.level),
            l.part ? ` [${l.part}]` : "",
            " ",
            l.msg,
          ),
        );
    } catch (err) {
      logBox.append(failure(err));
    }
  };
  level.addEventListener("change", loadLogs);
  main.append(
    card(
      t("system.logs"),
      div("row", field(t("system.level"), level), button(t("common.refresh"), loadLogs, { testid: "logs-refresh" })),
      logBox,
    ),
  );
  loadLogs();
}
