// Numbers and trunks: the SIP trunks (registration state live), the dialled numbers with windows of their own, and a
// check which agent answers a number at a given time. Trunk passwords arrive as "********" and stay so unless retyped.
import { api } from "../api.js";
import { badge, button, card, div, empty, field, h, para, span } from "../dom.js";
import { checkInput, listInput, numberInput, removeButton, sectionEditor, selectInput, textInput } from "../form.js";
import { t, tv } from "../i18n.js";
import * as live from "../live.js";

export async function render(main) {
  const states = new Map();
  const firstAgent = await api
    .get("/api/config/agents")
    .then((r) => r.value?.[0]?.id ?? "")
    .catch(() => "");
  const liveNow = await api.get("/api/live").catch(() => ({ trunks: [] }));
  for (const tr of liveNow.trunks ?? []) states.set(tr.id, tr);
  main.append(h("h1", null, t("nav.numbers")), h("h2", null, t("numbers.trunks")));

  const stateBadge = (id) => {
    const s = states.get(id);
    return h(
      "span",
      { testid: "trunk-state", "data-trunk": id },
      s
        ? badge(tv("trunk.", s.state), s.state === "registered" ? "ok" : s.state === "failed" ? "bad" : "")
        : badge(t("numbers.unknownState")),
      s?.detail ? ` ${s.detail}` : "",
    );
  };
  await sectionEditor(
    main,
    "trunks",
    (trunks, body, redraw) => {
      if (!trunks.length) body.append(empty(t("numbers.noTrunks")));
      trunks.forEach((tr, i) => {
        const p = `trunks[${i}]`;
        tr.keepalive ??= {};
        body.append(
          h(
            "section",
            { class: "card", testid: "trunk-card" },
            div(
              "row between",
              h("h3", null, tr.id || "?", " ", stateBadge(tr.id)),
              removeButton(() => {
                trunks.splice(i, 1);
                redraw();
              }),
            ),
            div(
              "grid3",
              field(t("numbers.id"), textInput(tr, "id", `${p}.id`, { keepEmpty: true })),
              field(
                t("numbers.domain"),
                textInput(tr, "domain", `${p}.domain`, { keepEmpty: true, placeholder: "sip.provider.de" }),
              ),
              field(
                t("numbers.transport"),
                selectInput(tr, "transport", ["udp", "tcp", "tls"], `${p}.transport`, { fallback: "udp" }),
              ),
              field(
                t("numbers.srtp"),
                selectInput(tr, "srtp", ["optional", "mandatory", "off"], `${p}.srtp`, { fallback: "optional" }),
                t("numbers.srtpHint"),
              ),
              field(
                t("numbers.username"),
                textInput(tr, "username", `${p}.username`, { keepEmpty: true, autocomplete: "off" }),
              ),
              field(
                t("numbers.authUsername"),
                textInput(tr, "authUsername", `${p}.authUsername`, { autocomplete: "off" }),
              ),
              field(
                t("numbers.password"),
                textInput(tr, "password", `${p}.password`, { type: "password", autocomplete: "new-password" }),
                t("numbers.passwordHint"),
              ),
              field(t("numbers.registrar"), textInput(tr, "registrar", `${p}.registrar`, { placeholder: "sip:…" })),
              field(t("numbers.proxy"), textInput(tr, "outboundProxy", `${p}.outboundProxy`, { placeholder: "sip:…" })),
              field(
                t("numbers.expiresS"),
                numberInput(tr, "expiresS", `${p}.expiresS`, { min: 60, max: 86400, placeholder: "600" }),
              ),
              field(
                t("numbers.keepalive"),
                selectInput(tr.keepalive, "method", ["options", "crlf", "none"], `${p}.keepalive.method`, {
                  fallback: "options",
                }),
              ),
              field(t("numbers.callerId"), textInput(tr, "callerId", `${p}.callerId`)),
              field(
                t("numbers.callerIdHeader"),
                selectInput(
                  tr,
                  "callerIdHeader",
                  ["From", "P-Asserted-Identity", "P-Preferred-Identity"],
                  `${p}.callerIdHeader`,
                  { fallback: "From" },
                ),
              ),
              field(t("numbers.dids"), listInput(tr, "numbers", `${p}.numbers`, { placeholder: "+4930…" })),
              field(
                t("numbers.peers"),
                listInput(tr, "peers", `${p}.peers`, { placeholder: "192.0.2.10, 198.51.100.0/24" }),
              ),
            ),
            h(
              "label",
              { class: "check" },
              checkInput(tr, "register", `${p}.register`, { checked: tr.register ?? true }),
              t("numbers.register"),
            ),
          ),
        );
      });
      body.append(
        button(
          t("numbers.addTrunk"),
          () => {
            trunks.push({ id: `trunk-${trunks.length + 1}`, domain: "", username: "", password: "", register: true });
            redraw();
          },
          { testid: "trunk-add" },
        ),
      );
    },
    { testid: "trunks-save", empty: [] },
  );
  const offTrunk = live.on("trunk", (e) => {
    if (!e?.id) return;
    states.set(e.id, e);
    for (const el of main.querySelectorAll(`[data-trunk="${CSS.escape(e.id)}"]`)) el.replaceWith(stateBadge(e.id));
  });

  main.append(h("h2", null, t("numbers.numbers")));
  await sectionEditor(
    main,
    "routing",
    (routing, body, redraw) => {
      if (!routing)
        return body.append(h("p", null, t("numbers.noRouting"), " ", h("a", { href: "#/windows" }, t("nav.windows"))));
      routing.numbers ??= [];
      const list = routing.numbers;
      body.append(
        card(
          null,
          para("hint", t("numbers.numbersHint")),
          list.length ? null : empty(t("numbers.noNumbers")),
          list.map((n, k) =>
            h(
              "div",
              { class: "row", testid: "number-row" },
              field(
                t("numbers.did"),
                textInput(n, "did", `routing.numbers[${k}].did`, { keepEmpty: true, inputmode: "tel" }),
              ),
              span("grow muted", t("numbers.windowCount", { n: n.windows?.length ?? 0 })),
              h("a", { class: "button", href: `#/windows?did=${encodeURIComponent(n.did)}` }, t("numbers.editWindows")),
              removeButton(() => {
                list.splice(k, 1);
                redraw();
              }),
            ),
          ),
          button(
            t("numbers.addNumber"),
            () => {
              list.push({
                did: "",
                windows: [{ id: `number-${list.length + 1}-always`, agent: firstAgent, always: true }],
              });
              redraw();
            },
            { testid: "number-add" },
          ),
        ),
      );
    },
    { testid: "numbers-save" },
  );

  const did = h("input", { inputmode: "tel", testid: "explain-did" });
  const at = h("input", { type: "datetime-local", testid: "explain-at", value: localInput(new Date()) });
  const out = h("p", { testid: "explain-result", "aria-live": "polite" });
  main.append(
    card(
      t("numbers.explain"),
      div(
        "row wrap",
        field(t("numbers.did"), did),
        field(t("numbers.at"), at),
        button(
          t("numbers.explainRun"),
          async () => {
            try {
              const r = await api.get("/api/routing/explain", {
                did: did.value.trim(),
                at: at.value ? new Date(at.value).getTime() : undefined,
              });
              out.textContent = r.agent
                ? t("numbers.explainResult", { agent: r.agent, window: r.window, reason: r.reason })
                : r.reason;
            } catch (err) {
              out.textContent = err.message;
            }
          },
          { testid: "explain-run" },
        ),
      ),
      out,
    ),
  );
  return offTrunk;
}

function localInput(d) {
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}
