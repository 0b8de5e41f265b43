// Agents: configured instances of the templates (operator, workflow, voicemail, FAQ, human). The common settings and
// each template's parameters as a form; knowledge entries and custom flows have pages of their own.
import { api } from "../api.js";
import { button, card, confirmDialog, div, field, h, para, span } from "../dom.js";
import {
  checkInput,
  linesInput,
  numberInput,
  removeButton,
  sectionEditor,
  selectInput,
  targetInput,
  textInput,
} from "../form.js";
import { t } from "../i18n.js";

export const TEMPLATES = ["operator", "workflow", "voicemail", "faq", "human"];
const LANGUAGES = ["de-DE", "en-US", "en-GB", "zh-CN"];
const SLOT_TYPES = [
  "name",
  "phone",
  "email",
  "number",
  "digits",
  "date",
  "time",
  "datetime",
  "postcode",
  "iban",
  "pattern",
  "yesno",
  "text",
];
const OUTCOMES = ["completed", "transferred", "voicemail", "callback", "abandoned", "hangup"];

export async function render(main, { query }) {
  const ids = (r) => (r?.value ?? []).map((x) => x.id);
  const [queues, actions] = await Promise.all([
    api.get("/api/config/queues").then(ids, () => []),
    api.get("/api/config/actions").then(ids, () => []),
  ]);
  let selected = query.get("agent");
  main.append(h("h1", null, t("nav.agents")));
  await sectionEditor(
    main,
    "agents",
    (list, body, redraw) => {
      const idx = Math.max(
        0,
        list.findIndex((a) => a.id === selected),
      );
      const a = list[idx];
      const agentIds = list.map((x) => x.id);
      const chooser = h(
        "div",
        { class: "row wrap chips", role: "tablist", testid: "agent-list" },
        list.map((x, k) =>
          button(
            `${x.id || "?"} · ${t(`template.${x.template}`)}`,
            () => {
              selected = x.id;
              redraw();
            },
            {
              class: k === idx ? "chip on" : "chip",
              role: "tab",
              "aria-selected": String(k === idx),
              testid: "agent-chip",
            },
          ),
        ),
        addAgent(list, (id) => {
          selected = id;
          redraw();
        }),
      );
      body.append(card(null, chooser));
      if (!a) return;
      const p = `agents[${idx}]`;
      const ctx = { agents: agentIds, queues, actions };
      body.append(
        card(
          t("agents.basics"),
          div(
            "grid3",
            field(
              t("agents.id"),
              textInput(a, "id", `${p}.id`, { keepEmpty: true, required: true, testid: "agent-id" }),
            ),
            field(t("agents.name"), textInput(a, "name", `${p}.name`)),
            field(
              t("agents.template"),
              selectInput(
                a,
                "template",
                TEMPLATES.map((x) => [x, t(`template.${x}`)]),
                `${p}.template`,
                { onpick: redraw, testid: "agent-template" },
              ),
            ),
            field(
              t("agents.language"),
              selectInput(
                a,
                "language",
                [["", t("agents.langDefault")], ...LANGUAGES.map((l) => [l, l])],
                `${p}.language`,
              ),
            ),
            field(
              t("agents.formality"),
              selectInput(
                a,
                "formality",
                [
                  ["sie", t("agents.sie")],
                  ["du", t("agents.du")],
                ],
                `${p}.formality`,
                { fallback: "sie" },
              ),
            ),
            field(
              t("agents.recording"),
              selectInput(
                a,
                "recording",
                [
                  ["consent", t("agents.recConsent")],
                  ["off", t("agents.recOff")],
                ],
                `${p}.recording`,
                { fallback: "consent" },
              ),
            ),
          ),
          field(t("agents.greeting"), textInput(a, "greeting", `${p}.greeting`, { testid: "agent-greeting" })),
          field(t("agents.disclosure"), textInput(a, "disclosure", `${p}.disclosure`), t("agents.disclosureHint")),
          a.flow
            ? para(
                "banner",
                t("agents.customFlow"),
                " ",
                h("a", { href: `#/flows?agent=${encodeURIComponent(a.id)}` }, t("nav.flows")),
              )
            : null,
        ),
        templateCard(a, p, ctx, redraw),
        escalationCard(a, p, ctx),
        disconnectCard(a, p, actions, redraw),
        div(
          "row end",
          button(
            t("agents.delete"),
            async () => {
              if (!(await confirmDialog(t("agents.deleteAsk", { id: a.id }), { danger: true, ok: t("common.delete") })))
                return;
              list.splice(idx, 1);
              selected = list[0]?.id;
              redraw();
            },
            { class: "danger", testid: "agent-delete" },
          ),
        ),
      );
    },
    { testid: "agents-save", empty: [] },
  );
}

function addAgent(list, done) {
  const tpl = h(
    "select",
    { "aria-label": t("agents.template") },
    TEMPLATES.map((x) => h("option", { value: x }, t(`template.${x}`))),
  );
  return span(
    "row",
    tpl,
    button(
      t("agents.add"),
      () => {
        let n = list.length + 1;
        while (list.some((x) => x.id === `agent-${n}`)) n += 1;
        const a = { id: `agent-${n}`, template: tpl.value };
        if (tpl.value === "workflow")
          a.form = [{ name: "name", prompt: t("agents.sampleName"), spec: { type: "name" } }];
        if (tpl.value === "faq")
          a.knowledge = [{ questions: [t("agents.sampleQuestion")], answer: t("agents.sampleAnswer") }];
        if (tpl.value === "human") a.target = { sip: "sip:100@pbx" };
        list.push(a);
        done(a.id);
      },
      { testid: "agent-add" },
    ),
  );
}

function templateCard(a, p, ctx, redraw) {
  switch (a.template) {
    case "operator":
      return card(t("template.operator"), intentsBlock(a, p, redraw), routesBlock(a, p, ctx, redraw));
    case "workflow":
      return card(
        t("template.workflow"),
        formBlock(a, p, redraw),
        field(
          t("agents.action"),
          selectInput(a, "action", [["", "–"], ...ctx.actions.map((x) => [x, x])], `${p}.action`),
        ),
      );
    case "voicemail":
      return card(
        t("template.voicemail"),
        field(t("agents.maxMessageS"), numberInput(a, "maxMessageS", `${p}.maxMessageS`, { min: 5, max: 600 })),
      );
    case "faq":
      return card(
        t("template.faq"),
        h(
          "p",
          null,
          t("agents.faqCount", { n: a.knowledge?.length ?? 0 }),
          " ",
          h("a", { href: `#/knowledge?agent=${encodeURIComponent(a.id)}` }, t("nav.knowledge")),
        ),
        intentsBlock(a, p, redraw),
      );
    case "human":
      return card(
        t("template.human"),
        field(t("agents.target"), targetInput(a, "target", `${p}.target`, { ...ctx, optional: false })),
        field(t("agents.timeoutS"), numberInput(a, "timeoutS", `${p}.timeoutS`, { min: 5, max: 300 })),
      );
    default:
      return null;
  }
}

function intentsBlock(a, p, redraw) {
  const list = a.intents ?? [];
  return h(
    "div",
    { path: `${p}.intents` },
    h("h3", null, t("agents.intents")),
    para("hint", t("agents.intentsHint")),
    list.map((x, k) =>
      h(
        "div",
        { class: "row top", testid: "intent-row" },
        field(t("agents.intentId"), textInput(x, "id", `${p}.intents[${k}].id`, { keepEmpty: true })),
        div("grow", field(t("agents.examples"), linesInput(x, "examples", `${p}.intents[${k}].examples`))),
        removeButton(() => {
          list.splice(k, 1);
          redraw();
        }),
      ),
    ),
    button(t("agents.addIntent"), () => {
      a.intents = [...list, { id: `intent-${list.length + 1}`, examples: [] }];
      redraw();
    }),
  );
}

function routesBlock(a, p, ctx, redraw) {
  const list = a.routes ?? [];
  const intents = (a.intents ?? []).map((x) => [x.id, x.id]);
  return h(
    "div",
    { path: `${p}.routes` },
    h("h3", null, t("agents.routes")),
    list.map((r, k) =>
      h(
        "div",
        { class: "row top", testid: "route-row" },
        field(t("agents.intent"), selectInput(r, "intent", [["", "–"], ...intents], `${p}.routes[${k}].intent`)),
        div("grow", field(t("agents.to"), targetInput(r, "to", `${p}.routes[${k}].to`, { ...ctx, optional: false }))),
        removeButton(() => {
          list.splice(k, 1);
          redraw();
        }),
      ),
    ),
    button(t("agents.addRoute"), () => {
      a.routes = [...list, { intent: intents[0]?.[0] ?? "", to: { agent: "" } }];
      redraw();
    }),
  );
}

function formBlock(a, p, redraw) {
  const list = a.form ?? [];
  return h(
    "div",
    { path: `${p}.form` },
    h("h3", null, t("agents.form")),
    list.map((s, k) => {
      const q = `${p}.form[${k}]`;
      s.spec ??= { type: "text" };
      return h(
        "div",
        { class: "grid3 slot", testid: "form-row" },
        field(t("agents.slotName"), textInput(s, "name", `${q}.name`, { keepEmpty: true })),
        field(
          t("agents.slotType"),
          selectInput(
            s.spec,
            "type",
            SLOT_TYPES.map((x) => [x, t(`slot.${x}`)]),
            `${q}.spec.type`,
            { onpick: redraw },
          ),
        ),
        s.spec.type === "pattern"
          ? field(t("agents.pattern"), textInput(s.spec, "pattern", `${q}.spec.pattern`, { class: "mono" }))
          : h("span"),
        field(t("agents.prompt"), textInput(s, "prompt", `${q}.prompt`, { keepEmpty: true })),
        field(t("agents.retry"), textInput(s, "retry", `${q}.retry`)),
        div(
          "row end",
          removeButton(() => {
            list.splice(k, 1);
            redraw();
          }),
        ),
      );
    }),
    button(t("agents.addField"), () => {
      a.form = [...list, { name: `field_${list.length + 1}`, prompt: "", spec: { type: "text" } }];
      redraw();
    }),
  );
}

function escalationCard(a, p, ctx) {
  a.escalation ??= {};
  const e = a.escalation;
  const q = `${p}.escalation`;
  return card(
    t("agents.escalation"),
    field(t("agents.escalateTo"), targetInput(e, "to", `${q}.to`, ctx), t("agents.escalateToHint")),
    div(
      "grid3",
      field(
        t("agents.noMatchLimit"),
        numberInput(e, "noMatchLimit", `${q}.noMatchLimit`, { min: 0, max: 10, placeholder: "3" }),
      ),
      field(
        t("agents.sentimentBelow"),
        numberInput(e, "sentimentBelow", `${q}.sentimentBelow`, { min: -1, max: 0, step: 0.1, placeholder: "-0.6" }),
      ),
    ),
    div(
      "checks",
      check(e, "keywords", `${q}.keywords`, t("agents.keywords")),
      check(e, "outOfKnowledge", `${q}.outOfKnowledge`, t("agents.outOfKnowledge")),
      check(e, "repeatedQuestion", `${q}.repeatedQuestion`, t("agents.repeatedQuestion")),
    ),
  );
}

/** A checkbox whose schema default is true: unset shows as ticked. */
function check(obj, key, path, label) {
  const input = checkInput(obj, key, path);
  input.checked = obj[key] ?? true;
  return h("label", { class: "check" }, input, label);
}

function disconnectCard(a, p, actions, redraw) {
  const list = a.disconnect ?? [];
  return card(
    t("agents.disconnect"),
    para("hint", t("agents.disconnectHint")),
    list.map((d, k) => {
      const q = `${p}.disconnect[${k}]`;
      const when = new Set(d.when ?? []);
      return h(
        "div",
        { class: "row wrap", path: q },
        field(t("agents.action"), selectInput(d, "action", [["", "–"], ...actions.map((x) => [x, x])], `${q}.action`)),
        h(
          "fieldset",
          { class: "checks", path: `${q}.when` },
          h("legend", null, t("agents.when")),
          OUTCOMES.map((o) =>
            h(
              "label",
              { class: "check" },
              h("input", {
                type: "checkbox",
                checked: when.has(o),
                onchange: (ev) => {
                  if (ev.target.checked) when.add(o);
                  else when.delete(o);
                  if (when.size) d.when = OUTCOMES.filter((x) => when.has(x));
                  else delete d.when;
                },
              }),
              t(`outcome.${o}`),
            ),
          ),
        ),
        removeButton(() => {
          list.splice(k, 1);
          redraw();
        }),
      );
    }),
    button(t("agents.addDisconnect"), () => {
      a.disconnect = [...list, { action: actions[0] ?? "" }];
      redraw();
    }),
  );
}
