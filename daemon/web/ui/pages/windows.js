// Time windows: the list that picks a call's first agent (first match wins, the last is `always`), for calls to any
// number or to one number of its own (#/windows?did=...). Per day ranges "08:00-12:00", holidays per federal state,
// exceptions for dates; the week view shows which window covers which hour.
import { api } from "../api.js";
import { button, card, clear, div, field, h, para, select, span } from "../dom.js";
import { checkInput, removeButton, sectionEditor, selectInput, textInput } from "../form.js";
import { t } from "../i18n.js";
import { clock, DAYS, parseRange, weekCoverage } from "../week.js";

export const REGIONS = [
  "DE",
  "DE-BW",
  "DE-BY",
  "DE-BE",
  "DE-BB",
  "DE-HB",
  "DE-HH",
  "DE-HE",
  "DE-MV",
  "DE-NI",
  "DE-NW",
  "DE-RP",
  "DE-SL",
  "DE-SN",
  "DE-ST",
  "DE-SH",
  "DE-TH",
];

export async function render(main, { query, navigate }) {
  const agents = await api
    .get("/api/config/agents")
    .then((r) => (r.value ?? []).map((a) => a.id))
    .catch(() => []);
  const did = query.get("did") ?? "";
  main.append(h("h1", null, t("nav.windows")), para("muted", t("windows.intro")));
  await sectionEditor(
    main,
    "routing",
    (routing, body, redraw, replace) => {
      if (!routing) {
        body.append(
          card(
            t("windows.none"),
            h("p", null, t("windows.noneHint")),
            button(t("windows.create"), () =>
              replace({
                timeZone: "Europe/Berlin",
                holidayRegion: "DE",
                windows: [{ id: "always", agent: agents[0] ?? "", always: true }],
                numbers: [],
              }),
            ),
          ),
        );
        return;
      }
      routing.numbers ??= [];
      const k = routing.numbers.findIndex((n) => n.did === did);
      const list = k >= 0 ? routing.numbers[k].windows : routing.windows;
      const base = k >= 0 ? `routing.numbers[${k}].windows` : "routing.windows";
      const pick = select(
        [["", t("windows.default")], ...routing.numbers.map((n) => [n.did, t("windows.forNumber", { did: n.did })])],
        k >= 0 ? did : "",
        { testid: "windows-list" },
      );
      pick.addEventListener("change", () => navigate("windows", pick.value ? { did: pick.value } : undefined));
      const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
      body.append(
        card(
          t("windows.general"),
          div(
            "grid3",
            field(t("windows.list"), pick),
            field(
              t("windows.timeZone"),
              textInput(routing, "timeZone", "routing.timeZone", { list: "tz-list", testid: "window-tz" }),
            ),
            field(
              t("windows.region"),
              selectInput(
                routing,
                "holidayRegion",
                REGIONS.map((r) => [r, t(`region.${r}`)]),
                "routing.holidayRegion",
                // Unset means the schema's default: nationwide holidays only.
                { testid: "window-region", fallback: "DE" },
              ),
            ),
          ),
          h(
            "datalist",
            { id: "tz-list" },
            zones.map((z) => h("option", { value: z })),
          ),
        ),
      );
      const week = h("div", { class: "week", testid: "week-view" });
      body.append(card(t("windows.week"), week, para("hint", t("windows.weekHint"))));
      const drawWeek = () => weekView(week, list);
      body.addEventListener("input", drawWeek);
      body.addEventListener("change", drawWeek);
      drawWeek();
      for (let i = 0; i < list.length; i++) body.append(windowCard(list, i, `${base}[${i}]`, agents, redraw));
      body.append(
        div(
          "row",
          button(
            t("windows.add"),
            () => {
              const at = list.length && list[list.length - 1].always ? list.length - 1 : list.length;
              list.splice(at, 0, {
                id: `window-${list.length + 1}`,
                agent: agents[0] ?? "",
                weekly: { mon: ["08:00-17:00"] },
              });
              redraw();
            },
            { testid: "window-add" },
          ),
        ),
      );
    },
    { testid: "window-save" },
  );
}

const kept = new WeakMap();

function windowCard(list, i, path, agents, redraw) {
  const w = list[i];
  const move = (d) => {
    const j = i + d;
    if (j < 0 || j >= list.length) return;
    [list[i], list[j]] = [list[j], list[i]];
    redraw();
  };
  const head = div(
    "grid3",
    field(t("windows.id"), textInput(w, "id", `${path}.id`, { keepEmpty: true, testid: "window-id" })),
    field(
      t("windows.agent"),
      selectInput(w, "agent", agentOptions(agents, w.agent), `${path}.agent`, { testid: "window-agent" }),
    ),
    field(
      t("windows.always"),
      checkInput(w, "always", `${path}.always`, {
        testid: "window-always",
        onchange: (e) => {
          // An always window may not have times; they are kept aside in case the box is unticked again.
          if (e.target.checked) {
            kept.set(w, { weekly: w.weekly, holidays: w.holidays, exceptions: w.exceptions });
            delete w.weekly;
            delete w.holidays;
            delete w.exceptions;
          } else {
            delete w.always;
            for (const [key, v] of Object.entries(kept.get(w) ?? { weekly: {} })) if (v !== undefined) w[key] = v;
          }
          redraw();
        },
      }),
    ),
  );
  const tools = div(
    "row end",
    button("↑", () => move(-1), {
      class: "icon",
      "aria-label": t("windows.up"),
      title: t("windows.up"),
      disabled: i === 0,
    }),
    button("↓", () => move(1), {
      class: "icon",
      "aria-label": t("windows.down"),
      title: t("windows.down"),
      disabled: i === list.length - 1,
    }),
    removeButton(() => {
      list.splice(i, 1);
      redraw();
    }, t("windows.remove")),
  );
  const kids = [
    div("row between", h("h3", null, `${i + 1}. ${w.id || "?"}`, h("span", { class: `swatch c${i % 8}` })), tools),
    head,
  ];
  if (!w.always) {
    w.weekly ??= {};
    kids.push(
      h("h4", null, t("windows.weekly")),
      h(
        "div",
        { class: "days", path: `${path}.weekly` },
        DAYS.map((d) => dayRow(w.weekly, d, `${path}.weekly.${d}`, redraw)),
      ),
      div(
        "grid3",
        field(
          t("windows.holidays"),
          selectInput(
            w,
            "holidays",
            [
              ["", t("windows.hol.closed")],
              ["only", t("windows.hol.only")],
              ["ignore", t("windows.hol.ignore")],
            ],
            `${path}.holidays`,
            { testid: "window-holidays" },
          ),
        ),
      ),
      exceptionsBlock(w, `${path}.exceptions`, redraw),
    );
  }
  return h("section", { class: "card window", testid: "window-card", path }, kids);
}

function agentOptions(agents, current) {
  const ids = current && !agents.includes(current) ? [current, ...agents] : agents;
  return [["", t("windows.pickAgent")], ...ids.map((a) => [a, a])];
}

function dayRow(weekly, day, path, redraw) {
  const ranges = weekly[day] ?? [];
  const inputs = ranges.map((r, j) => {
    const input = h("input", {
      value: r,
      path: `${path}[${j}]`,
      class: "range",
      size: 11,
      placeholder: "08:00-12:00",
      pattern: "\\d{2}:\\d{2}-\\d{2}:\\d{2}",
      "aria-label": `${t(`day.${day}`)} ${j + 1}`,
      testid: "range-input",
      oninput: (e) => {
        ranges[j] = e.target.value.trim();
        e.target.classList.toggle("bad", !parseRange(ranges[j]));
      },
    });
    return span(
      "range-item",
      input,
      removeButton(() => {
        ranges.splice(j, 1);
        if (!ranges.length) delete weekly[day];
        redraw();
      }, t("windows.removeRange")),
    );
  });
  const add = button(
    "+",
    () => {
      const last = parseRange(ranges[ranges.length - 1] ?? "");
      const start = last && last.end < 1380 ? last.end + 60 : 480;
      weekly[day] = [...ranges, `${clock(start)}-${clock(Math.min(start + 240, 1440))}`];
      redraw();
    },
    {
      class: "icon",
      "aria-label": t("windows.addRange", { day: t(`day.${day}`) }),
      title: t("windows.addRange", { day: t(`day.${day}`) }),
      testid: `range-add-${day}`,
    },
  );
  return h("div", { class: "day-row", path }, span("day", t(`day.${day}`)), div("row wrap", inputs, add));
}

function exceptionsBlock(w, path, redraw) {
  const list = w.exceptions ?? [];
  const rows = list.map((e, j) => {
    const p = `${path}[${j}]`;
    const span = e.date === undefined && (e.from !== undefined || e.to !== undefined);
    const kind = select(
      [
        ["day", t("windows.exc.day")],
        ["span", t("windows.exc.span")],
      ],
      span ? "span" : "day",
      { "aria-label": t("windows.exc.kind") },
    );
    kind.addEventListener("change", () => {
      if (kind.value === "span") {
        e.from = e.date ?? "";
        e.to = e.date ?? "";
        delete e.date;
      } else {
        e.date = e.from ?? "";
        delete e.from;
        delete e.to;
      }
      redraw();
    });
    const ranges = h("input", {
      value: (e.ranges ?? []).join(", "),
      path: `${p}.ranges`,
      placeholder: t("windows.exc.closed"),
      oninput: (ev) => {
        const v = ev.target.value
          .split(/[,;\s]+/)
          .map((s) => s.trim())
          .filter(Boolean);
        if (v.length) e.ranges = v;
        else delete e.ranges;
      },
    });
    return h(
      "div",
      { class: "exception row wrap", path: p, testid: "exception" },
      field(t("windows.exc.kind"), kind),
      span
        ? [
            field(t("windows.exc.from"), textInput(e, "from", `${p}.from`, { type: "date" })),
            field(t("windows.exc.to"), textInput(e, "to", `${p}.to`, { type: "date" })),
          ]
        : field(t("windows.exc.date"), textInput(e, "date", `${p}.date`, { type: "date" })),
      field(t("windows.exc.ranges"), ranges),
      field(t("windows.exc.note"), textInput(e, "note", `${p}.note`)),
      removeButton(() => {
        list.splice(j, 1);
        if (!list.length) delete w.exceptions;
        redraw();
      }),
    );
  });
  return h(
    "div",
    { class: "exceptions", path },
    h("h4", null, t("windows.exceptions")),
    rows,
    button(
      t("windows.exc.add"),
      () => {
        w.exceptions = [...list, { date: new Date().toISOString().slice(0, 10) }];
        redraw();
      },
      { testid: "exception-add" },
    ),
  );
}

/** Mon..Sun rows, 0..24 h, a coloured bar per stretch a window covers (the colour matches its card). */
function weekView(box, windows) {
  clear(box);
  const cov = weekCoverage(windows);
  box.append(
    h(
      "div",
      { class: "week-row week-axis", "aria-hidden": "true" },
      h("span", { class: "day" }),
      div(
        "week-bar",
        [0, 6, 12, 18, 24].map((x) => place(span("tick", `${x}`), x * 60, x * 60)),
      ),
    ),
  );
  for (const { day, segments } of cov) {
    const bar = h("div", { class: "week-bar" });
    for (const s of segments) {
      const w = windows[s.window];
      const label = `${t(`day.${day}`)} ${clock(s.start)}–${clock(s.end)}: ${w.id} → ${w.agent}`;
      bar.append(
        place(
          h(
            "span",
            { class: `seg c${s.window % 8}`, title: label, "aria-label": label, role: "img", testid: "week-seg" },
            s.end - s.start >= 120 ? w.id : "",
          ),
          s.start,
          s.end,
        ),
      );
    }
    box.append(h("div", { class: "week-row", "data-day": day }, span("day", t(`day.${day}`)), bar));
  }
}

/** Positions through the CSSOM, which the CSP allows (style attributes in markup it does not). */
function place(el, start, end) {
  el.style.left = `${(start / 1440) * 100}%`;
  if (end > start) el.style.width = `${((end - start) / 1440) * 100}%`;
  return el;
}
