// The admin web page end to end: the real daemon (HTTPS, sessions, SSE, SQLite), a real Chromium and real sipp
// callers. First boot with the one-time secret and the forced password change, CSRF and login rate limiting; a sipp
// call live on the dashboard and then as a chat with a playable recording; a time-window edit refused at its field
// and a valid one that routes the next call; the CSV export and a GDPR erasure; a browser test call whose microphone
// (an espeak-ng WAV) reaches the agent; a transfer that rings a logged-in staff browser. Screenshots of every page go
// to test-artifacts/web/ for a reviewer (they are not assertions).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { parse } from "yaml";
import { sharedModelsDir } from "../models/testing/shared-models.ts";
import { generateSpeechWav, resampleWav } from "./audio/fixtures.ts";
import { activeSeconds } from "./audio/signal.ts";
import { readWav } from "./audio/wav.ts";
import { type ChromiumHandle, launchChromium, skipUnlessChromium } from "./peers/chromium.ts";
import {
  type CdrRow,
  type DaemonHandle,
  pcapDir,
  repoRoot,
  runSipp,
  type SippResult,
  sippDetail,
  startDaemon,
  stopAll,
} from "./peers/daemon.ts";

const skip =
  skipUnlessChromium("sipp", "espeak-ng", "sox") ||
  (process.env.CI !== "true" && !existsSync(join(sharedModelsDir, "silero-vad"))
    ? `the speech models are missing (${sharedModelsDir}); set SWITCHBOARD_SHARED_MODELS`
    : false);

const SECRET = "first-boot-secret-0123";
const ADMIN_PASSWORD = "admin-password-4711";
const STAFF = "erika";
const STAFF_START = "start-passwort-123";
const STAFF_PASSWORD = "erika-password-0815";
const PROBE = "gast";
const PROBE_PASSWORD = "gast-password-1234";
/** Two sipp callers: the GDPR erasure removes the first and must leave the second alone. */
const CALLER_A = "+49301110001";
const CALLER_B = "+49301110002";
const WHISPER = "Testanruf aus dem Browser für Erika.";
const SPEECH =
  "Hello, I am calling from the browser. Please tell me when my parcel arrives, it was sent on Monday morning.";
const ARTIFACTS = join(repoRoot, "test-artifacts", "web");

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/** An agent that greets, then waits for keys as long as the caller stays (so sipp is the one that hangs up). */
const waitingFlow = (greeting: string) => [
  { type: "say", text: greeting },
  {
    id: "warten",
    type: "gather",
    expect: "digits",
    into: "taste",
    prompt: "Bitte bleiben Sie dran.",
    noInputMs: 60_000,
    attempts: 10,
    onFail: "warten",
  },
];

const config = {
  models: { searchPaths: [sharedModelsDir] },
  // VAD and the Pico voice are real; no recognizer: turns are heard (and logged), keys answer questions.
  speech: { enabled: true, language: "de-DE", recognizer: "off" },
  recording: { calls: true },
  web: { login: { maxFailures: 3, lockoutMinutes: 15 } },
  routing: {
    timeZone: "Europe/Berlin",
    windows: [
      // Every hour of every day, holidays included: which agent answers does not depend on when the test runs.
      {
        id: "tag",
        agent: "empfang",
        holidays: "ignore",
        weekly: Object.fromEntries(DAYS.map((d) => [d, ["00:00-24:00"]])),
      },
      { id: "sonst", agent: "nachricht", always: true },
    ],
    numbers: [{ did: "+4930555100", windows: [{ id: "hotline", agent: "info", always: true }] }],
  },
  agents: [
    // recording: consent (the default): the sipp caller presses 1 first, so the rest of the call is recorded.
    { id: "empfang", template: "workflow", flow: waitingFlow("Guten Tag, hier ist der Empfang.") },
    { id: "zentrale", template: "workflow", flow: waitingFlow("Guten Tag, hier ist die Zentrale.") },
    { id: "test", template: "workflow", recording: "off", flow: waitingFlow("Hallo, ich höre Ihnen zu.") },
    {
      id: "weiterleitung",
      template: "workflow",
      recording: "off",
      flow: [
        { type: "say", text: "Ich verbinde Sie mit Erika." },
        { type: "transfer", to: { browser: STAFF }, whisper: WHISPER, timeoutS: 40 },
      ],
    },
    { id: "nachricht", template: "voicemail", greeting: "Wir sind gerade nicht erreichbar." },
    {
      id: "info",
      template: "faq",
      greeting: "Was möchten Sie wissen?",
      knowledge: [{ questions: ["Wann haben Sie geöffnet"], answer: "Montag bis Freitag von 8 bis 17 Uhr." }],
    },
  ],
};

/**
 * A sipp caller with its own number: presses 1 right away (typed ahead of the disclosure, it answers the recording
 * question), speaks for about 7 s (PCMA pcap), stays on the line `holdMs`, then hangs up.
 */
function callerScenario(dir: string, from: string, holdMs: number): string {
  const pcaps = pcapDir();
  const headers = (method: string, cseq: number) => `
      ${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:${from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>${method === "INVITE" ? "" : "[peer_tag_param]"}
      Call-ID: [call_id]
      CSeq: ${cseq} ${method}
      Contact: sip:${from}@[local_ip]:[local_port]
      Max-Forwards: 70`;
  const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller ${from}">
  <send retrans="500"><![CDATA[
${headers("INVITE", 1)}
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[local_ip_type] [local_ip]
      t=0 0
      m=audio [auto_media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15

    ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" crlf="true"/>
  <send><![CDATA[
${headers("ACK", 1)}
      Content-Length: 0

    ]]></send>
  <nop><action><exec play_pcap_audio="${pcaps}/dtmf_2833_1.pcap"/></action></nop>
  <pause milliseconds="1000"/>
  <nop><action><exec play_pcap_audio="${pcaps}/g711a.pcap"/></action></nop>
  <pause milliseconds="${7500 + holdMs}"/>
  <send retrans="500"><![CDATA[
${headers("BYE", 2)}
      Content-Length: 0

    ]]></send>
  <recv response="200" crlf="true"/>
</scenario>
`;
  const file = join(dir, `caller-${from.replace(/\W/g, "")}.xml`);
  writeFileSync(file, xml);
  return file;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

const tid = (id: string) => `[data-testid="${id}"]`;

/** Waits until the element with that test id shows a text matching `text`. */
const shows = (page: Page, testid: string, text: RegExp, timeout = 15_000) =>
  page.locator(tid(testid), { hasText: text }).waitFor({ timeout });

/** The lines of a call record's events column. */
const eventsOf = (row: CdrRow): string[] => (JSON.parse(row.events) as { what: string }[]).map((e) => e.what);

/**
 * The record is complete: ended, and the flow's own lines (written when the flow is done, after the hang-up) are in.
 * Every agent of this config starts with the disclosure.
 */
const finished = (row: CdrRow | undefined): boolean =>
  !!row && row.ended_at !== null && eventsOf(row).some((e) => e.startsWith("disclosure said"));

/** The page globals the transcript listener uses (this project's TypeScript has no DOM library). */
interface Listening {
  sbTranscripts: { callId: string; speaker: string; text: string }[];
  EventSource: new (url: string) => { addEventListener(type: string, fn: (e: { data: string }) => void): void };
}

/** The parts of an <audio> element the recording check reads. */
interface AudioElement {
  currentSrc: string;
  duration: number;
  readyState: number;
  error: { code: number } | null;
}

interface Fetched {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** fetch() inside the page: same origin, the page's cookie, exactly the headers given (no CSRF token unless set). */
function pageFetch(
  page: Page,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Fetched> {
  return page.evaluate(
    async ({ path, method, headers, body }) => {
      const r = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
      const h: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        h[k] = v;
      });
      return { status: r.status, headers: h, body: await r.text() };
    },
    { path, method: init.method ?? "GET", headers: init.headers ?? {}, body: init.body },
  );
}

function sippOk(r: SippResult): void {
  assert.equal(r.successful, 1, sippDetail(r));
  assert.equal(r.failed, 0, sippDetail(r));
}

/** RFC 4180 lines (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n") {
      row.push(cell.replace(/\r$/, ""));
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

describe("admin web page in Chromium against the real daemon", { skip, timeout: 235_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "switchboard-web-e2e-"));
  const dataDir = join(work, "data");
  const shots: string[] = [];
  let d: DaemonHandle;
  let chromium: ChromiumHandle;
  let admin: Page;
  /** The sipp calls of this run (tests 2 and 3), in order. */
  const sippCalls: CdrRow[] = [];
  /** What the browser test call saw of the live transcript (test 5, judged in its own test). */
  const liveTranscript = { events: 0, linesDuringCall: 0 };
  /** The consent line of the first call's detail page (judged in a test of its own). */
  const consentShown = { text: "" };
  /** The transfer to the staff browser (test 6), whose bridge test 7 judges. */
  const transfer: { staffCtx?: BrowserContext; staff?: Page; caller?: CdrRow; leg?: CdrRow } = {};

  async function shot(page: Page, name: string): Promise<void> {
    const file = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
    shots.push(file);
  }

  async function newPage(locale = "de-DE"): Promise<{ ctx: BrowserContext; page: Page }> {
    // The certificate is trusted by its key (launchChromium), not by ignoring errors; the box's time zone.
    const ctx = await chromium.browser.newContext({
      locale,
      timezoneId: "Europe/Berlin",
      ignoreHTTPSErrors: false,
      viewport: { width: 1280, height: 860 },
    });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
    return { ctx, page };
  }

  async function submitLogin(page: Page, user: string, password: string): Promise<void> {
    await page.fill(tid("login-user"), user);
    await page.fill(tid("login-password"), password);
    await page.click(tid("login-submit"));
  }

  /** The answer of the next POST /api/login the page sends. */
  const loginAnswer = (page: Page) =>
    page.waitForResponse((r) => r.url().endsWith("/api/login") && r.request().method() === "POST");

  async function changePassword(page: Page, current: string, next: string): Promise<void> {
    await page.waitForSelector(tid("password-form"));
    await page.fill(tid("password-current"), current);
    await page.fill(tid("password-next"), next);
    await page.fill(tid("password-repeat"), next);
    await page.click(tid("password-submit"));
    await page.waitForSelector(tid("nav-dashboard"));
  }

  async function go(page: Page, hash: string, ready: string): Promise<void> {
    await page.evaluate((h) => {
      (globalThis as unknown as { location: { hash: string } }).location.hash = h;
    }, hash);
    await page.waitForSelector(ready);
  }

  /** Waits until the page's live event stream is connected (the dot in the top bar). */
  const liveUp = (page: Page) => page.waitForSelector(`${tid("live-status")}.up`);

  async function sippCall(from: string, holdMs: number, during?: () => Promise<void>): Promise<CdrRow> {
    const before = new Set(d.calls().map((r) => r.id));
    const running = runSipp({
      target: d.sipUdp,
      args: ["-sf", callerScenario(work, from, holdMs), "-m", "1"],
      timeoutMs: 45_000,
      mediaPorts: true,
    });
    // sipp runs to its end either way; what went wrong meanwhile is the more telling error.
    const failed = await during?.().then(
      () => undefined,
      (e: unknown) => e,
    );
    const result = await running;
    if (failed) throw failed;
    sippOk(result);
    const mine = (rs: CdrRow[]) => rs.find((r) => !before.has(r.id) && r.from_number === from);
    const row = mine(await d.waitForCalls((rs) => finished(mine(rs)), 15_000)) as CdrRow;
    sippCalls.push(row);
    return row;
  }

  before(async () => {
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    // What provisioning puts on the box: the one-time secret the first login uses.
    writeFileSync(join(dataDir, "first-boot-secret"), SECRET, { mode: 0o600 });
    d = await startDaemon({ dataDir, config, readyTimeoutMs: 60_000 });
    assert.ok(!existsSync(join(dataDir, "first-boot-secret")), "the daemon deletes the secret file after reading it");
    const speech48k = resampleWav(generateSpeechWav(SPEECH, { rate: 16000 }), 48000);
    chromium = await launchChromium({ trustCerts: [join(dataDir, "web", "cert.pem")], fakeMicWav: speech48k });
    ({ page: admin } = await newPage());
  });

  after(async () => {
    await chromium?.close();
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  });

  it("first boot: the secret logs in once, forces a password change, then no longer works", async () => {
    await admin.goto(`${d.webUrl}/`);
    await admin.waitForSelector(tid("login-form"));
    await shot(admin, "de-login");
    const answer = loginAnswer(admin);
    await submitLogin(admin, "admin", SECRET);
    const login = await answer;
    assert.equal(login.status(), 200);
    assert.equal(((await login.json()) as { user: { mustChange: boolean } }).user.mustChange, true);
    await admin.waitForSelector(tid("password-form"));
    await shot(admin, "de-password-change");

    // Logged in with the secret, nothing but the password change is allowed.
    const calls = await pageFetch(admin, "/api/calls");
    assert.equal(calls.status, 403, calls.body);
    assert.deepEqual(JSON.parse(calls.body), { error: "password must be replaced", where: "password" });
    const users = await pageFetch(admin, "/api/users");
    assert.equal(users.status, 403, users.body);

    await changePassword(admin, SECRET, ADMIN_PASSWORD);
    assert.equal((await pageFetch(admin, "/api/calls")).status, 200);

    // The secret is spent: a fresh browser gets "wrong password" with it, the new password works.
    const { ctx, page } = await newPage();
    try {
      await page.goto(`${d.webUrl}/`);
      const refused = loginAnswer(page);
      await submitLogin(page, "admin", SECRET);
      assert.equal((await refused).status(), 401);
      await page.waitForSelector(`${tid("login-error")}:visible`);
      assert.equal(await page.textContent(tid("login-error")), "Benutzer oder Passwort ist falsch.");
      await submitLogin(page, "admin", ADMIN_PASSWORD);
      await page.waitForSelector(tid("nav-dashboard"));
    } finally {
      await ctx.close();
    }
  });

  it("a POST without the session's CSRF token is refused; with it, it goes through", async () => {
    const session = JSON.parse((await pageFetch(admin, "/api/session")).body) as { csrf: string };
    assert.ok(session.csrf.length >= 16, "the session has a CSRF token");
    const body = { name: PROBE, role: "staff", password: PROBE_PASSWORD };
    const json = { "content-type": "application/json" };
    const without = await pageFetch(admin, "/api/users", { method: "POST", headers: json, body });
    assert.equal(without.status, 403, without.body);
    assert.equal((JSON.parse(without.body) as { where?: string }).where, "x-csrf-token");
    const wrong = await pageFetch(admin, "/api/users", {
      method: "POST",
      headers: { ...json, "x-csrf-token": `${session.csrf}x` },
      body,
    });
    assert.equal(wrong.status, 403, wrong.body);
    const list = JSON.parse((await pageFetch(admin, "/api/users")).body) as { name: string }[];
    assert.ok(!list.some((u) => u.name === PROBE), "refused requests changed nothing");
    const withToken = await pageFetch(admin, "/api/users", {
      method: "POST",
      headers: { ...json, "x-csrf-token": session.csrf },
      body,
    });
    assert.equal(withToken.status, 201, withToken.body);
  });

  it("wrong passwords are rate limited: the page says so, the API answers 429 with Retry-After", async () => {
    const { ctx, page } = await newPage();
    try {
      await page.goto(`${d.webUrl}/`);
      for (let i = 1; i <= 2; i++) {
        const a = loginAnswer(page);
        await submitLogin(page, PROBE, `wrong-password-${i}`);
        assert.equal((await a).status(), 401, `wrong password ${i}`);
        await shows(page, "login-error", /^Benutzer oder Passwort ist falsch\.$/);
      }
      // web.login.maxFailures is 3: the third wrong password locks the account.
      const third = loginAnswer(page);
      await submitLogin(page, PROBE, "wrong-password-3");
      const r = await third;
      assert.equal(r.status(), 429);
      const retry = Number(await r.headerValue("retry-after"));
      assert.ok(retry > 60 && retry <= 15 * 60, `Retry-After ${retry} s: the 15 minute lock`);
      await shows(page, "login-error", /^Zu viele Versuche/);
      await shot(page, "de-login-rate-limited");
      // Locked means locked: the right password gets 429 too, without a session.
      const right = await pageFetch(page, "/api/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: { user: PROBE, password: PROBE_PASSWORD },
      });
      assert.equal(right.status, 429, right.body);
      assert.ok(Number(right.headers["retry-after"]) > 0, JSON.stringify(right.headers));
      assert.equal((await pageFetch(page, "/api/session")).status, 401);

      // The admin sees the lock on the Users page and lifts it; then the right password works.
      await go(admin, "#/users", `${tid("user-row")}[data-user="${PROBE}"] ${tid("user-unlock")}`);
      await admin.click(`${tid("user-row")}[data-user="${PROBE}"] ${tid("user-unlock")}`);
      await admin.waitForSelector(`${tid("user-row")}[data-user="${PROBE}"]:not(:has(${tid("user-unlock")}))`);
      const a = loginAnswer(page);
      await submitLogin(page, PROBE, PROBE_PASSWORD);
      assert.equal((await a).status(), 200);
      await page.waitForSelector(tid("password-form"));
    } finally {
      await ctx.close();
    }
  });

  it("a sipp call shows live on the dashboard, then as a chat whose recording plays", async () => {
    await go(admin, "#/dashboard", `${tid("kpi-calls")} strong`);
    await liveUp(admin);
    const row = await sippCall(CALLER_A, 2000, async () => {
      const live = await admin.waitForSelector(`${tid("live-call")}:has-text("${CALLER_A}")`, { timeout: 15_000 });
      assert.match((await live.textContent()) ?? "", /empfang/, "the live call names its agent");
      await shot(admin, "de-dashboard-live-call");
      // The call leaves the dashboard when it ends.
      await admin.waitForSelector(`${tid("live-call")}:has-text("${CALLER_A}")`, {
        state: "detached",
        timeout: 30_000,
      });
    });
    assert.equal(row.hangup_side, "caller", JSON.stringify(row));
    assert.ok(eventsOf(row).includes("recording consent: yes via dtmf"), row.events);
    assert.ok(row.recording_path && existsSync(row.recording_path), `recording_path ${row.recording_path}`);

    await go(admin, "#/chats", `${tid("chat-card")}[data-call="${row.id}"]`);
    const card = admin.locator(`${tid("chat-card")}[data-call="${row.id}"]`);
    assert.match((await card.textContent()) ?? "", new RegExp(`\\${CALLER_A}`));
    await shot(admin, "de-chats");
    await card.locator(tid("chat-open")).click();
    await admin.waitForSelector(tid("chat-detail"));
    const audio = admin.locator(tid("recording"));
    await audio.waitFor();
    // preload="metadata": the element loads the WAV's header by itself (HAVE_METADATA = readyState 1).
    const media = await until(
      "the recording's metadata in the audio element",
      async () => {
        const m = await audio.evaluate((node) => {
          const el = node as unknown as AudioElement;
          return { src: el.currentSrc, duration: el.duration, readyState: el.readyState, error: el.error?.code ?? 0 };
        });
        return m.readyState >= 1 || m.error ? m : undefined;
      },
      10_000,
    );
    assert.equal(media.error, 0, `the audio element failed to load: ${JSON.stringify(media)}`);
    assert.ok(media.src.endsWith(`/api/calls/${row.id}/recording`), media.src);
    assert.ok(Number.isFinite(media.duration) && media.duration > 0, `audio.duration ${media.duration}`);
    const wav = await pageFetch(admin, new URL(media.src).pathname);
    assert.equal(wav.status, 200);
    assert.match(wav.headers["content-type"] ?? "", /^audio\/wav/);
    // What the page plays is what the box recorded: after the key, the caller's speech on the left channel.
    const rec = readWav(row.recording_path);
    assert.equal(rec.channels.length, 2);
    assert.ok(activeSeconds(rec.channels[0], rec.rate) > 3, "the caller's speech is in the recording");
    await shot(admin, "de-chat-detail");
    consentShown.text = (await admin.locator('dt:has-text("Aufnahme erlaubt") + dd').textContent()) ?? "";
  });

  it("the chat detail shows when the caller consented to the recording", () => {
    // As an offset into the call like the transcript's times (the caller pressed 1 a few seconds in), not a date.
    assert.match(consentShown.text, /^ja \(dtmf, 0:[0-5]\d\)$/, consentShown.text);
    assert.doesNotMatch(consentShown.text, /1970/);
  });

  it("a time window with an invalid range is refused at its field; a valid edit routes the next call", async () => {
    const path = "routing.windows[0].weekly.mon[0]";
    const fileBefore = readFileSync(d.configPath, "utf8");
    await go(admin, "#/windows", `${tid("week-view")} ${tid("week-seg")}`);
    await shot(admin, "de-windows-week");
    const range = admin.locator(`[data-path="${path}"]`);
    await range.fill("25:00-26:00");
    await admin.click(tid("window-save"));
    const error = admin.locator(`[data-path="${path}"] + ${tid("field-error")}`);
    await error.waitFor();
    assert.match((await error.textContent()) ?? "", /25:00/, "the message names the bad range");
    assert.equal(await range.getAttribute("aria-invalid"), "true");
    await shot(admin, "de-windows-invalid-range");
    assert.equal(readFileSync(d.configPath, "utf8"), fileBefore, "a refused save leaves the file as it was");

    // A fresh form, then the valid edit: the all-day window now hands calls to the Zentrale.
    await admin.reload();
    await admin.waitForSelector(`${tid("window-card")} ${tid("window-agent")}`);
    await admin.locator(tid("window-agent")).first().selectOption("zentrale");
    await admin.click(tid("window-save"));
    await admin.waitForSelector(`${tid("toast")}.ok`);
    const saved = parse(readFileSync(d.configPath, "utf8")) as {
      routing: { windows: { id: string; agent: string }[] };
    };
    assert.deepEqual(
      saved.routing.windows.map((w) => [w.id, w.agent]),
      [
        ["tag", "zentrale"],
        ["sonst", "nachricht"],
      ],
    );

    const row = await sippCall(CALLER_B, 500);
    assert.ok(
      eventsOf(row).some((e) => e.startsWith('time window "tag"')),
      row.events,
    );
    assert.ok(eventsOf(row).includes("disclosure said (agent zentrale)"), row.events);
    await go(admin, "#/chats", `${tid("chat-card")}[data-call="${row.id}"]`);
    const card = await until(
      "the chat card of the second call with its agent",
      async () => {
        const r = await pageFetch(admin, `/api/calls/${row.id}`);
        const c = (JSON.parse(r.body) as { card?: { lastAgent?: string } }).card;
        return c?.lastAgent ? c : undefined;
      },
      10_000,
    );
    assert.equal(card.lastAgent, "zentrale");
    const text = await admin.locator(`${tid("chat-card")}[data-call="${row.id}"]`).textContent();
    assert.match(text ?? "", /zentrale/);
    const first = JSON.parse((await pageFetch(admin, `/api/calls/${sippCalls[0].id}`)).body) as {
      card: { lastAgent?: string };
    };
    assert.equal(first.card.lastAgent, "empfang", "the first call kept the agent of its time");
  });

  it("the CSV export lists the calls made; GDPR erasure of one caller removes their rows and recordings", async () => {
    await go(admin, "#/chats", `${tid("chat-card")}[data-call="${sippCalls[1].id}"]`);
    const [download] = await Promise.all([admin.waitForEvent("download"), admin.click(tid("export-csv"))]);
    const file = await download.path();
    const csv = readFileSync(file, "utf8").replace(/^\uFEFF/, "");
    const [head, ...rows] = parseCsv(csv).filter((r) => r.length > 1);
    const col = (name: string) => head.indexOf(name);
    assert.ok(col("id") >= 0 && col("caller") >= 0, `CSV header: ${head.join(",")}`);
    assert.deepEqual(rows.map((r) => r[col("id")]).sort(), sippCalls.map((c) => c.id).sort(), csv);
    // A leading + would start a formula in a spreadsheet: the export may defuse it with a quote.
    const callerOf = (id: string) => rows.find((r) => r[col("id")] === id)?.[col("caller")].replace(/^'/, "");
    assert.equal(callerOf(sippCalls[0].id), CALLER_A);
    assert.equal(callerOf(sippCalls[1].id), CALLER_B);
    assert.equal(rows.find((r) => r[col("id")] === sippCalls[0].id)?.[col("recording")], "yes");

    const [a, b] = sippCalls;
    await go(admin, "#/retention", tid("gdpr-form"));
    await shot(admin, "de-data-protection");
    await admin.fill(tid("gdpr-number"), CALLER_A);
    await admin.click(tid("gdpr-delete"));
    await admin.fill(tid("confirm-input"), CALLER_A);
    await admin.click(tid("confirm-ok"));
    await admin.waitForSelector(`${tid("gdpr-result")} p`);
    assert.match((await admin.textContent(tid("gdpr-result"))) ?? "", /1 Gespräche, 1 Aufnahmen/);

    const left = d.calls();
    assert.ok(!left.some((r) => r.id === a.id || r.from_number === CALLER_A), "caller A's rows are gone");
    assert.ok(
      left.some((r) => r.id === b.id),
      "caller B's call is kept",
    );
    assert.ok(a.recording_path && !existsSync(a.recording_path), "caller A's recording file is deleted");
    assert.ok(b.recording_path && existsSync(b.recording_path), "caller B's recording is kept");
    assert.equal((await pageFetch(admin, `/api/calls/${a.id}`)).status, 404);

    await go(admin, "#/audit", tid("audit-row"));
    const audit = admin.locator(`${tid("audit-row")}:has-text("calls.delete-caller")`);
    await audit.first().waitFor();
    const line = (await audit.first().textContent()) ?? "";
    assert.ok(line.includes(CALLER_A) && line.includes("admin"), line);
    assert.ok(await admin.locator(`${tid("audit-row")}:has-text("calls.export")`).count(), "the export is audited");
    await shot(admin, "de-audit");
  });

  it("a test call from Chromium with a fake microphone reaches the agent", async (t) => {
    // An own event stream next to the page's, to see whether the box sends live transcript lines.
    await go(admin, "#/softphone", tid("softphone-call"));
    await liveUp(admin);
    await admin.evaluate(() => {
      const w = globalThis as unknown as Listening;
      w.sbTranscripts = [];
      new w.EventSource("/api/events").addEventListener("transcript", (e) => w.sbTranscripts.push(JSON.parse(e.data)));
    });
    const before = new Set(d.calls().map((r) => r.id));
    await admin.selectOption(tid("softphone-agent"), "test");
    await admin.click(tid("softphone-call"));
    await shows(admin, "softphone-state", /^Im Gespräch mit test\.$/, 20_000);
    assert.equal(await admin.isEnabled(tid("softphone-hangup")), true);
    const rec = await until(
      "the test call's record",
      () => d.calls().find((r) => !before.has(r.id) && r.direction === "inbound"),
      10_000,
    );
    // Let the agent greet and the looped speech make turns.
    await sleep(9000);
    await shot(admin, "de-softphone-test-call");
    const pushed = await admin.evaluate(() => (globalThis as unknown as Listening).sbTranscripts);
    liveTranscript.events = pushed.filter((e) => e.callId === rec.id).length;
    liveTranscript.linesDuringCall = await admin.locator(tid("softphone-line")).count();
    t.diagnostic(
      `live transcript of the test call: ${liveTranscript.events} events, ${liveTranscript.linesDuringCall} lines on the page`,
    );
    await admin.click(tid("softphone-hangup"));
    await shows(admin, "softphone-state", /Gespräch beendet/);
    // The page found the call's record: it links to its chat.
    assert.equal(await admin.getAttribute(tid("softphone-chat"), "href"), `#/chats/${rec.id}`);
    const rows = await d.waitForCalls((rs) => finished(rs.find((r) => r.id === rec.id)), 15_000);
    const row = rows.find((r) => r.id === rec.id) as CdrRow;
    const turns = eventsOf(row).filter((e) => /^turn \d+-\d+ ms/.test(e));
    t.diagnostic(`test call ${row.id}: VAD turns ${turns.join("; ")}`);
    assert.ok(turns.length >= 1, `the agent heard the browser's speech (VAD turns): ${row.events}`);
    assert.ok(eventsOf(row).includes("time window test call to agent test"), row.events);
    assert.equal(row.from_number, "admin", "the test call is the admin's");
    assert.equal(row.hangup_side, "caller", JSON.stringify(row));
  });

  it("the softphone page shows the live transcript of its test call", {}, () => {
    assert.ok(liveTranscript.events > 0, "the box sent transcript events for the test call");
    assert.ok(liveTranscript.linesDuringCall > 0, "the page showed them while the call ran");
  });

  it("a transfer to a logged-in staff browser rings it with the whisper; answering bridges both legs", async () => {
    // The staff user is made on the Users page, logs in in a browser of their own and marks themselves available.
    await go(admin, "#/users", tid("new-user"));
    await admin.fill(tid("new-user-name"), STAFF);
    await admin.fill(tid("new-user-display"), "Erika Muster");
    await admin.selectOption(tid("new-user-role"), "staff");
    await admin.fill(tid("new-user-password"), STAFF_START);
    await admin.click(tid("new-user-submit"));
    await admin.waitForSelector(`${tid("user-row")}[data-user="${STAFF}"]`);
    await shot(admin, "de-users");

    const { ctx, page: staff } = await newPage();
    transfer.staffCtx = ctx;
    transfer.staff = staff;
    await staff.goto(`${d.webUrl}/`);
    await submitLogin(staff, STAFF, STAFF_START);
    await changePassword(staff, STAFF_START, STAFF_PASSWORD);
    assert.equal(await staff.locator(tid("nav-users")).count(), 0, "staff see no admin pages");
    await go(staff, "#/softphone", tid("softphone-available"));
    await liveUp(staff);
    await staff.click(tid("softphone-available"));
    await staff.waitForSelector(`${tid("softphone-available")}:checked`);

    const before = new Set(d.calls().map((r) => r.id));
    await go(admin, "#/softphone", tid("softphone-agent"));
    await admin.selectOption(tid("softphone-agent"), "weiterleitung");
    await admin.click(tid("softphone-call"));

    const ring = staff.locator(tid("ring-card"));
    await ring.waitFor({ timeout: 30_000 });
    assert.equal(await staff.textContent(tid("ring-whisper")), WHISPER);
    assert.match((await ring.textContent()) ?? "", /admin/, "the card says who calls");
    await shot(staff, "de-softphone-ringing");
    await staff.click(tid("ring-answer"));
    await staff.waitForSelector(`${tid("ring-card")}.talking ${tid("ring-hangup")}`, { timeout: 20_000 });
    await shot(staff, "de-softphone-talking");

    // Both legs: the caller's (the admin's test call) and the staff leg, answered and linked to it.
    const [caller, leg] = await until(
      "the answered staff leg linked to the caller",
      () => {
        const rows = d.calls().filter((r) => !before.has(r.id));
        const c = rows.find((r) => r.direction === "inbound");
        const l = rows.find((r) => r.direction === "outbound" && r.linked_call_id === c?.id && r.answered_at);
        return c && l ? [c, l] : undefined;
      },
      20_000,
    );
    assert.equal(caller.from_number, "admin");
    assert.equal(leg.to_uri, `browser:${STAFF}`, JSON.stringify(leg));
    // The staff member hears the whisper (TTS into their leg) first, then the two legs are bridged.
    const bridged = await until(
      "the bridge",
      () => {
        const rows = d.calls();
        const c = rows.find((r) => r.id === caller.id);
        return c && eventsOf(c).includes(`bridged to ${leg.id}`) ? rows : undefined;
      },
      20_000,
    );
    const l = bridged.find((r) => r.id === leg.id) as CdrRow;
    assert.ok(eventsOf(l).includes(`whisper played: ${WHISPER}`), l.events);
    transfer.caller = caller;
    transfer.leg = leg;
  });

  it("the bridged call lasts until the staff member hangs up, which ends both legs", {}, async () => {
    try {
      const { staff, caller, leg } = transfer;
      assert.ok(staff && caller && leg, "the transfer above connected");
      await sleep(2000);
      const rows = d.calls();
      const up = (id: string) => rows.find((r) => r.id === id)?.ended_at === null;
      assert.ok(
        up(caller.id) && up(leg.id),
        `2 s after the bridge both legs are up: ${JSON.stringify(rows.slice(-2))}`,
      );
      await staff.click(tid("ring-hangup"), { timeout: 2000 });
      await staff.waitForSelector(tid("ring-card"), { state: "detached" });
      const ended = await d.waitForCalls(
        (rs) => [caller.id, leg.id].every((id) => rs.some((r) => r.id === id && r.ended_at !== null)),
        15_000,
      );
      const c = ended.find((r) => r.id === caller.id) as CdrRow;
      const l = ended.find((r) => r.id === leg.id) as CdrRow;
      assert.equal(l.hangup_side, "callee", `the staff member hung up: ${JSON.stringify(l)}`);
      assert.equal(c.hangup_side, "callee", `the bridge ended the caller's call: ${JSON.stringify(c)}`);
      await shows(admin, "softphone-state", /Gespräch beendet/);
    } finally {
      await transfer.staffCtx?.close();
    }
  });

  it("screenshots of the remaining pages (German) and of dashboard and chats in English", async (t) => {
    const pages: [string, string, string][] = [
      ["de-dashboard", "#/dashboard", `${tid("kpi-calls")} strong`],
      ["de-agents", "#/agents", tid("agent-list")],
      ["de-flows-graph", "#/flows?agent=weiterleitung", `${tid("flow-graph")} svg`],
      ["de-knowledge", "#/knowledge", tid("knowledge-entry")],
      ["de-numbers", "#/numbers", tid("explain-did")],
      ["de-system", "#/system", tid("system-version")],
      ["de-softphone", "#/softphone", tid("softphone-call")],
    ];
    for (const [name, hash, ready] of pages) {
      await go(admin, hash, ready);
      await sleep(300);
      await shot(admin, name);
    }
    await admin.selectOption(tid("lang-select"), "en");
    for (const [name, hash, ready] of [
      ["en-dashboard", "#/dashboard", `${tid("kpi-calls")} strong`],
      ["en-chats", "#/chats", tid("chat-card")],
    ] as const) {
      await go(admin, hash, ready);
      await admin.waitForSelector(`${tid("nav-chats")}:has-text("Chats")`);
      await sleep(300);
      await shot(admin, name);
    }
    await admin.locator(tid("chat-open")).first().click();
    await admin.waitForSelector(tid("chat-detail"));
    await shot(admin, "en-chat-detail");
    await admin.selectOption(tid("lang-select"), "de");
    for (const f of shots) assert.ok(existsSync(f), f);
    t.diagnostic(
      `screenshots (${shots.length}) in ${ARTIFACTS}:\n${shots.map((f) => f.slice(ARTIFACTS.length + 1)).join("\n")}`,
    );
  });
});
