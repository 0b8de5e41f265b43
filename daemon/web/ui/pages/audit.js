// Audit log: who changed what and when (config updates, exports, deletions, users), newest first, paged backwards.
import { api } from "../api.js";
import { button, div, empty, failure, h } from "../dom.js";
import { fmtDateTime, t } from "../i18n.js";

export async function render(main) {
  const body = h("tbody");
  const more = button(t("chats.more"), () => load(), { hidden: true, testid: "audit-more" });
  main.append(
    h("h1", null, t("nav.audit")),
    h(
      "section",
      { class: "card" },
      div(
        "table-wrap",
        h(
          "table",
          { testid: "audit" },
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              [
                t("audit.at"),
                t("audit.user"),
                t("audit.address"),
                t("audit.action"),
                t("audit.target"),
                t("audit.detail"),
              ].map((x) => h("th", { scope: "col" }, x)),
            ),
          ),
          body,
        ),
      ),
      more,
    ),
  );
  let before;
  async function load() {
    more.disabled = true;
    try {
      const r = await api.get("/api/audit", { before, limit: 100 });
      const items = r.items ?? [];
      if (before === undefined && !items.length) main.querySelector(".card").append(empty(t("audit.none")));
      for (const e of items)
        body.append(
          h(
            "tr",
            { testid: "audit-row" },
            h("td", { class: "nowrap" }, fmtDateTime(e.at)),
            h("td", null, e.user ?? ""),
            h("td", { class: "mono" }, e.address ?? ""),
            h("td", null, h("code", null, e.action)),
            h("td", null, e.target ?? ""),
            h("td", { class: "mono small" }, e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail) : ""),
          ),
        );
      before = r.nextBefore;
      more.hidden = before === undefined;
    } catch (err) {
      main.append(failure(err));
    } finally {
      more.disabled = false;
    }
  }
  await load();
}
