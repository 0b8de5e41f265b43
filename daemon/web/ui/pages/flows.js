// Flows: an agent's custom `flow` as JSON, validated by the daemon's one schema (POST /api/config/validate) before it
// is saved. Each problem names its node path; the node is marked in the outline and the graph, and a click on the
// problem selects the node's text in the editor. The graph is the compiled flow (template or custom) as the box runs it.
import { ApiError, api, problemsOf, saveSection } from "../api.js";
import { button, card, clear, div, empty, failure, field, h, para, select, toast } from "../dom.js";
import { drawGraph, elementSpans, nodeIndexOf } from "../graph.js";
import { t } from "../i18n.js";

const EXAMPLE = [
  {
    id: "start",
    type: "menu",
    prompt: "Für Termine drücken Sie 1, für alles andere 2.",
    options: [
      { key: "1", goto: "termin" },
      { key: "2", goto: "mensch" },
    ],
  },
  {
    id: "termin",
    type: "capture",
    slot: "wann",
    prompt: "Wann passt es Ihnen?",
    spec: { type: "datetime", future: true },
  },
  { type: "say", text: "Danke, wir melden uns.", next: "ende" },
  { id: "mensch", type: "transfer", to: { sip: "sip:100@pbx" } },
  { id: "ende", type: "hangup" },
];

export async function render(main, { query, navigate }) {
  let state = await api.get("/api/config/agents");
  const agents = state.value ?? [];
  main.append(h("h1", null, t("nav.flows")));
  if (!agents.length) return main.append(empty(t("flows.noAgents")));
  const i = Math.max(
    0,
    agents.findIndex((a) => a.id === query.get("agent")),
  );
  const agent = agents[i];
  const prefix = `agents[${i}].flow`;

  const pick = select(
    agents.map((a) => [a.id, `${a.id} (${t(`template.${a.template}`)})`]),
    agent.id,
    { testid: "flow-agent" },
  );
  pick.addEventListener("change", () => navigate("flows", { agent: pick.value }));
  const editor = h("textarea", {
    id: "flow-text",
    class: "code",
    rows: 24,
    spellcheck: "false",
    path: prefix,
    testid: "flow-editor",
    value: agent.flow ? JSON.stringify(agent.flow, null, 2) : "",
    placeholder: t("flows.placeholder"),
  });
  const problemBox = h("div", { testid: "flow-problems", "aria-live": "polite" });
  const outline = h("ol", { class: "outline", testid: "flow-outline", start: 0 });
  const graphBox = h("div", { class: "graph-box", testid: "flow-graph" });
  const validateBtn = button(t("flows.validate"), () => validate(), { testid: "flow-validate" });
  const saveBtn = button(t("common.save"), () => save(), { class: "primary", testid: "flow-save" });
  let graph = null;
  let marked = new Set();

  main.append(
    card(
      null,
      div(
        "row wrap",
        field(t("flows.agent"), pick),
        para("muted grow", agent.flow ? t("flows.custom") : t("flows.template")),
      ),
    ),
    div(
      "grid2",
      card(
        t("flows.editor"),
        h("label", { for: "flow-text", class: "sr-only" }, t("flows.editor")),
        editor,
        div(
          "row wrap",
          button(t("flows.format"), () => format(), { testid: "flow-format" }),
          agent.flow
            ? null
            : button(t("flows.example"), () => {
                editor.value = JSON.stringify(EXAMPLE, null, 2);
                drawOutline();
              }),
          h("span", { class: "grow" }),
          validateBtn,
          saveBtn,
        ),
        problemBox,
      ),
      h("div", null, card(t("flows.outline"), outline), card(t("flows.graph"), graphBox)),
    ),
  );

  /** The edited flow, or undefined for "use the template"; throws a problem list on JSON errors. */
  const parse = () => {
    const text = editor.value.trim();
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      const m = /position (\d+)/.exec(err.message);
      throw [{ path: prefix, message: t("flows.badJson", { msg: err.message }), at: m ? Number(m[1]) : undefined }];
    }
  };
  const candidate = (flow) =>
    agents.map((a, k) => {
      if (k !== i) return a;
      const copy = { ...a };
      if (flow === undefined) delete copy.flow;
      else copy.flow = flow;
      return copy;
    });

  const showProblems = (problems) => {
    clear(problemBox);
    const bad = new Set();
    for (const p of problems) {
      const n = nodeIndexOf(p.path, prefix);
      if (n >= 0) bad.add(n);
    }
    marked = bad;
    editor.toggleAttribute("aria-invalid", problems.length > 0);
    drawOutline(bad);
    drawGraphBox();
    if (!problems.length) {
      problemBox.append(h("p", { class: "ok-text", testid: "flow-ok" }, t("flows.valid")));
      return;
    }
    problemBox.append(
      h(
        "ul",
        { class: "problems", role: "alert" },
        problems.map((p) => {
          const n = nodeIndexOf(p.path, prefix);
          const where = p.path?.startsWith(prefix) ? `flow${p.path.slice(prefix.length)}` : p.path || "";
          return h(
            "li",
            { testid: "flow-problem", class: "field-error", "data-node": n },
            h(
              "button",
              { type: "button", class: "link", onclick: () => (n >= 0 ? selectNode(n) : selectAt(p.at)) },
              where ? `${where}: ${p.message}` : p.message,
            ),
          );
        }),
      ),
    );
  };

  const selectNode = (n) => {
    const span = elementSpans(editor.value)[n];
    if (!span) return;
    editor.focus();
    editor.setSelectionRange(span[0], span[1]);
    const line = editor.value.slice(0, span[0]).split("\n").length;
    editor.scrollTop = Math.max(0, (line - 3) * 18);
  };
  const selectAt = (at) => {
    if (at === undefined) return editor.focus();
    editor.focus();
    editor.setSelectionRange(at, at + 1);
  };

  const drawOutline = (bad = new Set()) => {
    clear(outline);
    let flow;
    try {
      flow = parse();
    } catch {
      return outline.append(h("li", { class: "muted" }, t("flows.noOutline")));
    }
    if (!Array.isArray(flow))
      return outline.append(h("li", { class: "muted" }, flow === undefined ? t("flows.template") : t("flows.notList")));
    outline.append(
      ...flow.map((n, k) =>
        h(
          "li",
          { class: bad.has(k) ? "bad" : "", testid: "flow-node", "data-index": k },
          h(
            "button",
            { type: "button", class: "link", onclick: () => selectNode(k) },
            `${n?.type ?? "?"}${n?.id ? ` · ${n.id}` : ""}`,
          ),
          n?.text || n?.prompt ? h("small", { class: "muted" }, ` ${String(n.text ?? n.prompt).slice(0, 60)}`) : null,
        ),
      ),
    );
  };
  const drawGraphBox = () => {
    clear(graphBox);
    if (!graph) return;
    if (!graph.nodes?.length) return graphBox.append(empty(t("flows.noGraph")));
    graphBox.append(drawGraph(graph, { marked, title: t("flows.graphOf", { agent: agent.id }) }));
  };
  const loadGraph = () =>
    api
      .get(`/api/agents/${encodeURIComponent(agent.id)}/graph`)
      .then((g) => {
        graph = g;
        drawGraphBox();
      })
      .catch((err) => clear(graphBox).append(failure(err)));

  /** The daemon checks the draft against the whole config and draws the draft's graph. */
  async function check() {
    const flow = parse();
    if (flow !== undefined && (!Array.isArray(flow) || flow.length === 0))
      throw [{ path: prefix, message: t("flows.notList") }];
    const value = candidate(flow);
    try {
      const r = await api.post("/api/agents/validate", { agent: value[i], index: i });
      if (r?.graph) graph = r.graph;
      return { flow, problems: r?.problems ?? [] };
    } catch (err) {
      if (err.status !== 404) throw err;
      const r = await api.post("/api/config/validate", { section: "agents", value });
      return { flow, problems: r?.problems ?? [] };
    }
  }
  async function validate() {
    validateBtn.disabled = true;
    try {
      showProblems((await check()).problems);
    } catch (err) {
      showProblems(Array.isArray(err) ? err : problemsOf(err));
    } finally {
      validateBtn.disabled = false;
    }
  }
  async function save() {
    saveBtn.disabled = true;
    try {
      const flow = parse();
      if (flow !== undefined && !Array.isArray(flow)) throw [{ path: prefix, message: t("flows.notList") }];
      const value = candidate(flow);
      const r = await saveSection("agents", state.version, value);
      state = { version: r.version, value };
      agents.splice(0, agents.length, ...value);
      showProblems([]);
      toast(t("common.saved"));
      loadGraph();
    } catch (err) {
      if (Array.isArray(err)) showProblems(err);
      else {
        showProblems(problemsOf(err));
        if (err instanceof ApiError && err.status !== 422) toast(err.message, "error");
      }
    } finally {
      saveBtn.disabled = false;
    }
  }
  function format() {
    try {
      const flow = parse();
      if (flow !== undefined) editor.value = JSON.stringify(flow, null, 2);
      drawOutline();
    } catch (err) {
      if (Array.isArray(err)) showProblems(err);
    }
  }
  editor.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") {
      e.preventDefault();
      save();
    }
  });
  let typing;
  editor.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => drawOutline(), 400);
  });
  drawOutline();
  loadGraph();
  return () => clearTimeout(typing);
}
