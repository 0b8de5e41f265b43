// Knowledge: the question/answer entries of an agent (each entry is also an intent), and the queue of questions callers
// asked that the box could not answer. "Add" turns such a question into a new entry; after the save it counts as answered.
import { api } from "../api.js";
import { button, card, clear, div, empty, failure, field, h, para, select, span, toast } from "../dom.js";
import { linesInput, removeButton, sectionEditor } from "../form.js";
import { fmtDateTime, t, tv } from "../i18n.js";

const STATES = ["open", "answered", "dismissed"];

export async function render(main, { query }) {
  main.append(h("h1", null, t("nav.knowledge")));
  const queueBox = h("div", { testid: "unanswered" });
  const stateSel = select(
    STATES.map((s) => [s, tv("question.", s)]),
    "open",
    { testid: "unanswered-state", "aria-label": t("knowledge.state") },
  );
  main.append(card(t("knowledge.unanswered"), div("row", field(t("knowledge.state"), stateSel)), queueBox));
  let selected = query.get("agent");
  let adopt = () => undefined;
  const adopted = new Set();

  const loadQueue = async () => {
    clear(queueBox);
    try {
      const r = await api.get("/api/knowledge/unanswered", { state: stateSel.value });
      if (!r.items?.length) return queueBox.append(empty(t("knowledge.noQuestions")));
      for (const q of r.items) {
        const mark = async (state) => {
          try {
            await api.patch(`/api/knowledge/unanswered/${encodeURIComponent(q.id)}`, { state });
            row.remove();
          } catch (err) {
            toast(err.message, "error");
          }
        };
        const row = h(
          "div",
          { class: "question row between", testid: "question" },
          div(
            "grow",
            h("strong", null, `„${q.text}“`),
            h(
              "small",
              { class: "muted" },
              ` ${q.agent} · ${q.language ?? ""} · ${fmtDateTime(q.askedAt)} · `,
              q.callId ? h("a", { href: `#/chats/${encodeURIComponent(q.callId)}` }, t("knowledge.call")) : null,
            ),
          ),
          q.state === "open"
            ? div(
                "row",
                button(
                  t("knowledge.add"),
                  () => {
                    adopted.add(q.id);
                    adopt(q);
                    row.classList.add("adopted");
                  },
                  { testid: "question-add" },
                ),
                button(t("knowledge.dismiss"), () => mark("dismissed"), { testid: "question-dismiss" }),
              )
            : span("badge", tv("question.", q.state)),
        );
        queueBox.append(row);
      }
    } catch (err) {
      queueBox.append(failure(err));
    }
  };
  stateSel.addEventListener("change", loadQueue);
  loadQueue();

  await sectionEditor(
    main,
    "agents",
    (agents, body, redraw) => {
      if (!agents.length) return body.append(empty(t("flows.noAgents")));
      let idx = agents.findIndex((a) => a.id === selected);
      if (idx < 0)
        idx = Math.max(
          0,
          agents.findIndex((a) => a.template === "faq"),
        );
      const a = agents[idx];
      selected = a.id;
      adopt = (q) => {
        const own = agents.find((x) => x.id === q.agent) ?? a;
        own.knowledge = [...(own.knowledge ?? []), { questions: [q.text], answer: "" }];
        selected = own.id;
        redraw();
        body.querySelector(".entry:last-of-type textarea.answer")?.focus();
      };
      const pick = select(
        agents.map((x) => [x.id, `${x.id} (${t(`template.${x.template}`)})`]),
        a.id,
        { testid: "knowledge-agent" },
      );
      pick.addEventListener("change", () => {
        selected = pick.value;
        redraw();
      });
      const list = a.knowledge ?? [];
      const p = `agents[${idx}].knowledge`;
      body.append(
        card(
          t("knowledge.entries"),
          field(t("knowledge.agent"), pick),
          para("hint", t("knowledge.hint")),
          h(
            "div",
            { path: p },
            list.map((e, k) =>
              h(
                "div",
                { class: "entry grid2", testid: "knowledge-entry" },
                field(t("knowledge.questions"), linesInput(e, "questions", `${p}[${k}].questions`, { rows: 4 })),
                h(
                  "div",
                  null,
                  field(
                    t("knowledge.answer"),
                    h("textarea", {
                      rows: 4,
                      class: "answer",
                      value: e.answer ?? "",
                      path: `${p}[${k}].answer`,
                      oninput: (ev) => {
                        e.answer = ev.target.value;
                      },
                    }),
                  ),
                  div(
                    "row end",
                    removeButton(() => {
                      list.splice(k, 1);
                      redraw();
                    }),
                  ),
                ),
              ),
            ),
          ),
          button(
            t("knowledge.addEntry"),
            () => {
              a.knowledge = [...list, { questions: [], answer: "" }];
              redraw();
            },
            { testid: "knowledge-add" },
          ),
        ),
      );
    },
    {
      testid: "knowledge-save",
      empty: [],
      after: async () => {
        for (const id of adopted)
          await api
            .patch(`/api/knowledge/unanswered/${encodeURIComponent(id)}`, { state: "answered" })
            .catch(() => undefined);
        adopted.clear();
        loadQueue();
      },
    },
  );
}
