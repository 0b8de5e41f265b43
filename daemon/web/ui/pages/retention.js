// Data protection: how long calls and recordings are kept, exports of the call list (CSV/XLSX), and the GDPR
// deletion of everything stored about one caller, confirmed by typing the number again.
import { api, withQuery } from "../api.js";
import { card, confirmDialog, div, field, h, para, toast } from "../dom.js";
import { numberInput, sectionEditor } from "../form.js";
import { t } from "../i18n.js";

export async function render(main) {
  main.append(h("h1", null, t("nav.retention")));
  await sectionEditor(
    main,
    "store",
    (store, body) => {
      body.append(
        card(
          t("retention.title"),
          field(
            t("retention.days"),
            numberInput(store, "retentionDays", "store.retentionDays", {
              min: 0,
              max: 3650,
              placeholder: "0",
              testid: "retention-days",
            }),
            t("retention.daysHint"),
          ),
        ),
      );
    },
    { testid: "retention-save", empty: {} },
  );

  const from = h("input", { type: "date", testid: "export-from" });
  const to = h("input", { type: "date", testid: "export-to" });
  const csv = h("a", { class: "button", download: "", testid: "export-csv" }, t("chats.csv"));
  const xlsx = h("a", { class: "button", download: "", testid: "export-xlsx" }, t("chats.xlsx"));
  const links = () => {
    const q = { from: from.value, to: to.value };
    csv.href = withQuery("/api/exports/calls.csv", q);
    xlsx.href = withQuery("/api/exports/calls.xlsx", q);
  };
  from.addEventListener("input", links);
  to.addEventListener("input", links);
  links();
  main.append(
    card(
      t("retention.exports"),
      para("hint", t("retention.exportsHint")),
      div("row wrap", field(t("chats.from"), from), field(t("chats.to"), to)),
      div("row", csv, xlsx),
    ),
  );

  const number = h("input", {
    inputmode: "tel",
    required: true,
    testid: "gdpr-number",
    path: "number",
    autocomplete: "off",
  });
  const result = h("div", { testid: "gdpr-result", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card danger-zone", testid: "gdpr-form" },
    h("h2", null, t("gdpr.title")),
    h("p", null, t("gdpr.intro")),
    field(t("gdpr.number"), number),
    div("row end", h("button", { type: "submit", class: "danger", testid: "gdpr-delete" }, t("gdpr.delete"))),
    result,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const n = number.value.trim();
    if (!n) return number.focus();
    if (!(await confirmDialog(t("gdpr.ask", { number: n }), { typed: n, danger: true, ok: t("gdpr.delete") }))) return;
    try {
      const r = await api.post("/api/gdpr/delete-caller", { number: n, confirm: n });
      result.replaceChildren(
        para(
          "ok-text",
          t("gdpr.done", {
            number: n,
            calls: r.calls,
            recordings: r.recordings,
            outbox: r.outbox,
            questions: r.questions,
          }),
        ),
      );
      number.value = "";
    } catch (err) {
      toast(err.message, "error");
    }
  });
  main.append(form);
}
