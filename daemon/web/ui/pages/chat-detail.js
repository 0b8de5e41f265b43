// One call: its card, the recording, the transcript with timestamps (a click plays the recording from there), what
// was captured, the state of each action and the call's events.
import { api } from "../api.js";
import { badge, card, div, empty, h, para, span, table } from "../dom.js";
import { fmtClock, fmtMs, t, tv } from "../i18n.js";
import { chatCard } from "./chats.js";

export async function render(main, { params }) {
  const id = params[0];
  const d = await api.get(`/api/calls/${encodeURIComponent(id)}`);
  const c = d.card;
  const base = `/api/calls/${encodeURIComponent(id)}`;
  const start = c.answeredAt ?? c.startedAt;
  // The recording starts with the caller's consent (or the answer); transcript times are relative to the call start.
  // Consent and transcript times are ms since the call started (older records may hold absolute times).
  const abs = (ms) => (ms < 1e11 ? ms + start : ms);
  const recStart = d.consent?.recording ? abs(d.consent.atMs) : start;
  const audio = c.hasRecording
    ? h("audio", {
        controls: true,
        preload: "metadata",
        src: `${base}/recording`,
        testid: "recording",
        class: "player",
      })
    : null;
  const at = (ms) => (ms < 1e11 ? ms : ms - start);
  const line = (x) =>
    h(
      "li",
      { class: `turn sp-${x.speaker}`, testid: "transcript-line" },
      h(
        "button",
        {
          type: "button",
          class: "ts link",
          disabled: !audio,
          title: audio ? t("detail.playFrom") : undefined,
          onclick: () => {
            audio.currentTime = Math.max(0, (abs(x.atMs) - recStart) / 1000);
            audio.play().catch(() => undefined);
          },
        },
        fmtClock(at(x.atMs)),
      ),
      span("speaker", tv("speaker.", x.speaker), x.agent ? ` (${x.agent})` : ""),
      span("text", x.text, x.dtmf ? h("kbd", null, x.dtmf) : null),
      x.latencyMs !== undefined
        ? h("small", { class: "latency", title: t("detail.latency") }, fmtMs(x.latencyMs))
        : null,
    );

  const slots = Object.entries(d.slots ?? {});
  const facts = [
    [t("detail.intent"), c.intent],
    [t("detail.window"), d.window ? `${d.window.id} – ${d.window.reason}` : undefined],
    [
      t("detail.consent"),
      d.consent
        ? [
            d.consent.recording ? t("common.yes") : t("common.no"),
            d.consent.atMs ? ` (${d.consent.via}, ${fmtClock(at(d.consent.atMs))})` : "",
          ].join("")
        : undefined,
    ],
    [
      t("detail.hangup"),
      [d.hangupCause, d.hangupSide && tv("side.", d.hangupSide)].filter(Boolean).join(" · ") || undefined,
    ],
    [t("detail.codec"), d.codec],
    [t("detail.agents"), (c.agents ?? []).join(" → ") || undefined],
    [t("detail.callerUri"), c.callerUri],
  ].filter(([, v]) => v);

  main.append(
    h("p", null, h("a", { href: "#/chats", testid: "back-to-chats" }, `← ${t("nav.chats")}`)),
    chatCard(c, { big: true }),
    h(
      "div",
      { class: "grid2 detail", testid: "chat-detail" },
      h(
        "div",
        null,
        card(
          t("detail.transcript"),
          audio ?? para("muted", t("detail.noRecording")),
          d.transcript?.length
            ? h("ol", { class: "transcript", testid: "transcript" }, d.transcript.map(line))
            : empty(t("detail.noTranscript")),
          div(
            "row",
            h(
              "a",
              { class: "button", href: `${base}/transcript?format=txt`, download: "", testid: "transcript-txt" },
              t("detail.downloadTxt"),
            ),
            h(
              "a",
              { class: "button", href: `${base}/transcript?format=json`, download: "", testid: "transcript-json" },
              t("detail.downloadJson"),
            ),
          ),
        ),
      ),
      h(
        "div",
        null,
        card(
          t("detail.data"),
          slots.length
            ? h(
                "dl",
                { class: "kv", testid: "slots" },
                slots.map(([k, v]) => [h("dt", null, k), h("dd", null, typeof v === "string" ? v : JSON.stringify(v))]),
              )
            : empty(t("detail.noData")),
        ),
        card(
          t("detail.actions"),
          d.actions?.length
            ? table(
                [t("detail.action"), t("detail.state"), t("detail.attempts")],
                d.actions.map((a) => [
                  h("span", { title: a.key }, a.action),
                  h(
                    "span",
                    null,
                    badge(tv("action.", a.state), actionKind(a.state)),
                    a.lastError ? h("small", { class: "error-text" }, ` ${a.lastError}`) : null,
                  ),
                  String(a.attempts ?? "–"),
                ]),
                { testid: "actions" },
              )
            : empty(t("detail.noActions")),
        ),
        card(
          t("detail.facts"),
          h(
            "dl",
            { class: "kv" },
            facts.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]),
          ),
        ),
        d.events?.length
          ? card(
              null,
              h(
                "details",
                null,
                h("summary", null, t("detail.events", { n: d.events.length })),
                h(
                  "ol",
                  { class: "events mono" },
                  d.events.map((e) => h("li", null, `${fmtClock(at(e.t))} ${e.what}`)),
                ),
              ),
            )
          : null,
      ),
    ),
  );
}

function actionKind(state) {
  if (state === "delivered" || state === "done") return "ok";
  if (state === "dead" || state === "failed") return "bad";
  return "warn";
}
