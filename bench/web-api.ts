// Benchmark (not a test): the Chats API over a realistic store of 10,000 calls (CDR + flow outcome with a 10-30 line
// transcript, tags, summary, agents, staff statuses, callers who call again). Measures p50/p99/max of the list (first
// page, filtered, searched, by caller), one call's detail, the day's KPIs, and the CSV and XLSX exports of all calls
// (time and bytes), called through the route handlers and through the real HTTPS server (daemon/web/testkit.ts, one
// keep-alive TLS connection like a browser's). Runs twice: on the shipped schema (migration 5: filter indexes and the
// FTS5 trigram search index) and without the search index (what q costs as LIKE scans over call_outcomes, e.g. for
// terms under 3 characters). Target: list and search p99 <= 50 ms.
//   npm run bench -- web-api [--calls 10000] [--runs 200] [--exports 3]
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Writable } from "node:stream";
import { CallOutcomes } from "../daemon/store/call-outcomes.ts";
import { CallRecords } from "../daemon/store/calls.ts";
import { localDayRange } from "../daemon/store/chats.ts";
import { closeDb, type Db, openDb } from "../daemon/store/db.ts";
import { callsRoutes } from "../daemon/web/api/calls.ts";
import { exportsRoutes } from "../daemon/web/api/exports.ts";
import { kpisRoutes } from "../daemon/web/api/kpis.ts";
import type { Route, RouteContext } from "../daemon/web/route.ts";
import { sessionCookieName } from "../daemon/web/auth/sessions.ts";
import { send, startTestWeb } from "../daemon/web/testkit.ts";
import { argNum, mb, percentile } from "./lib/bench.ts";

const CALLS = argNum("calls", 10_000);
const RUNS = argNum("runs", 200);
const EXPORTS = argNum("exports", 3);
const TZ = "Europe/Berlin";

// ---------------------------------------------------------------------------------------------------------------
// A realistic store (seeded, so every run fills the same data)

let seed = 42;
const rnd = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

const AGENTS = ["empfang", "termine", "faq", "support", "vertrieb"] as const;
const CONCERNS = [
  ["Termin", "möchte einen Termin für nächste Woche vereinbaren"],
  ["Rechnung", "hat eine Frage zur letzten Rechnung"],
  ["Lieferung", "wartet auf eine Lieferung"],
  ["Kündigung", "möchte den Vertrag kündigen"],
  ["Störung", "meldet eine Störung der Heizung"],
  ["Rückruf", "bittet um Rückruf am Nachmittag"],
  ["Angebot", "interessiert sich für ein Angebot"],
  ["Zählerstand", "möchte den Zählerstand durchgeben"],
  ["Adresse", "hat eine neue Adresse"],
  ["Reklamation", "reklamiert ein defektes Gerät"],
  ["Öffnungszeiten", "fragt nach den Öffnungszeiten am Samstag"],
  ["Bewerbung", "fragt nach dem Stand der Bewerbung"],
] as const;
const TAGS = ["termin", "rechnung", "neukunde", "beschwerde", "dringend", "rückruf", "vertrag", "technik", "lead"];
const NAMES = ["Anna Schmidt", "Jonas Weber", "Mehmet Yılmaz", "Sophie Müller", "Lukas Becker", "Marie Wagner"];
const OUTCOMES = [
  ["completed", 55],
  ["transferred", 20],
  ["voicemail", 8],
  ["callback", 7],
  ["abandoned", 5],
  ["hangup", 5],
] as const;
const STATUSES = ["new", "new", "in_progress", "done", "done"] as const;
const AGENT_LINES = [
  "Guten Tag, Sie sprechen mit dem digitalen Assistenten der Stadtwerke.",
  "Wie kann ich Ihnen helfen?",
  "Darf ich Ihren Namen erfahren?",
  "Unter welcher Nummer erreichen wir Sie am besten?",
  "Ich habe einen Termin am Dienstag um zehn Uhr gefunden. Passt Ihnen das?",
  "Vielen Dank, ich habe alles notiert.",
  "Einen Moment bitte, ich verbinde Sie mit einer Kollegin.",
  "Gibt es sonst noch etwas, das ich für Sie tun kann?",
  "Ihre Kundennummer habe ich gefunden.",
  "Das Anliegen ist aufgenommen, Sie erhalten eine Bestätigung per E-Mail.",
];
const CALLER_LINES = [
  "Ja hallo, ich rufe wegen {concern} an.",
  "Mein Name ist {name}.",
  "Meine Kundennummer ist {digits}.",
  "Am besten nachmittags, nach drei.",
  "Ja, das passt mir gut.",
  "Nein, das war alles, danke.",
  "Können Sie mich bitte mit jemandem verbinden?",
  "Die Heizung macht seit gestern komische Geräusche.",
  "Ich habe die Rechnung vom März bekommen und verstehe den Betrag nicht.",
  "Wann kommt denn der Techniker?",
];

function weighted<T>(pairs: readonly (readonly [T, number])[]): T {
  const total = pairs.reduce((s, [, w]) => s + w, 0);
  let x = rnd() * total;
  for (const [v, w] of pairs) {
    x -= w;
    if (x < 0) return v;
  }
  return pairs[0]![0];
}

/** 3,000 callers, a few calling very often: the i-th caller's share falls like 1/i (Zipf). */
function callerNumber(): string {
  const i = Math.floor(3000 ** rnd());
  if (i % 37 === 0) return "anonymous";
  const national = `0${30 + (i % 60)}${String(1_000_000 + i * 7919).slice(0, 7)}`;
  // Trunks write numbers differently: most +49, some national, a few 0049.
  return i % 5 === 0 ? national : i % 11 === 0 ? `0049${national.slice(1)}` : `+49${national.slice(1)}`;
}

export function fillStore(db: Db, n: number, now: number): { ids: string[]; callers: string[] } {
  const cdr = new CallRecords(db);
  const outcomes = new CallOutcomes(db);
  const statusStmt = db.prepare("UPDATE call_outcomes SET status = ? WHERE call_id = ?");
  const outbox = db.prepare(
    `INSERT INTO outbox (kind, payload, idempotency_key, call_id, state, attempts, max_attempts, next_attempt_at,
       created_at, updated_at, delivered_at) VALUES ('webhook', ?, ?, ?, ?, 1, 12, ?, ?, ?, ?)`,
  );
  const ids: string[] = [];
  const callers: string[] = [];
  db.transaction(() => {
    for (let k = 0; k < n; k++) {
      const id = `c${String(k).padStart(6, "0")}-${Math.floor(rnd() * 1e9).toString(36)}`;
      // 60 days back, business hours, a few calls on the same second.
      const day = Math.floor(rnd() * 60);
      const startedAt = now - day * 86_400_000 - Math.floor(rnd() * 12 * 3_600_000) - 3_600_000;
      const from = callerNumber();
      ids.push(id);
      callers.push(from);
      cdr.start({
        id,
        direction: "inbound",
        trunk: "main",
        fromUri: `"${pick(NAMES)}" <sip:${from}@sip.trunk.example;user=phone>`,
        fromNumber: from,
        toUri: "sip:+4930555000@box.local",
        did: pick(["+4930555000", "+4930555001", "+4930555002"]),
        sipCallId: `${id}@trunk`,
        transport: "udp",
        remoteAddress: "198.51.100.7:5060",
        startedAt,
      });
      const answered = rnd() > 0.04;
      if (answered) cdr.answered(id, startedAt + 800, pick(["PCMA", "G722", "opus"]));
      const talkMs = 20_000 + Math.floor(rnd() * 280_000);
      if (answered && rnd() < 0.6) cdr.recording(id, `/var/lib/switchboard/recordings/x/${id}.wav`);
      cdr.event(id, startedAt + 900, "disclosure said (agent empfang)");
      cdr.ended(id, {
        endedAt: startedAt + 800 + (answered ? talkMs : 15_000),
        hangupCause: answered ? "bye" : "caller hung up while ringing",
        hangupSide: rnd() < 0.7 ? "caller" : "box",
        mediaStats: { packetsReceived: Math.floor(talkMs / 20), packetsLost: Math.floor(rnd() * 20) },
      });
      if (!answered) continue;
      const [concern, text] = pick(CONCERNS);
      const name = pick(NAMES);
      const agents = [AGENTS[0], ...(rnd() < 0.6 ? [pick(AGENTS.slice(1))] : []), ...(rnd() < 0.1 ? ["support"] : [])];
      const lines = 10 + Math.floor(rnd() * 21);
      const transcript = Array.from({ length: lines }, (_, i) => {
        const agent = i % 2 === 0;
        const line = agent ? pick(AGENT_LINES) : pick(CALLER_LINES);
        return {
          atMs: i * 4_000 + Math.floor(rnd() * 2_000),
          speaker: agent ? "agent" : "caller",
          text: line
            .replace("{concern}", concern.toLowerCase())
            .replace("{name}", name)
            .replace("{digits}", String(Math.floor(rnd() * 1e8))),
          ...(agent && { agent: agents.at(-1), latencyMs: 250 + Math.floor(rnd() * 900) }),
        };
      });
      const outcome = weighted(OUTCOMES);
      const actions =
        rnd() < 0.4 ? [{ action: "crm", state: rnd() < 0.9 ? "delivered" : "failed", key: `${id}:crm:0` }] : [];
      for (const a of actions)
        outbox.run(
          JSON.stringify({ target: "crm", event: "flow.action", data: { call_id: id } }),
          a.key,
          id,
          a.state === "delivered" ? "delivered" : "dead",
          startedAt,
          startedAt,
          startedAt,
          a.state === "delivered" ? startedAt + 1000 : null,
        );
      outcomes.save({
        callId: id,
        window: { id: "office", reason: "Mon 08:00-18:00" },
        agents,
        intent: concern.toLowerCase(),
        slots: { name, concern },
        escalation: outcome === "transferred" ? "caller asked for a human" : undefined,
        consent: { recording: true, via: "dtmf", atMs: 6000 },
        outcome,
        transferredTo: outcome === "transferred" ? "sip:anna@pbx" : undefined,
        actions: actions as { action: string; state: "delivered" | "failed"; key: string }[],
        transcript: transcript as { atMs: number; speaker: "agent" | "caller"; text: string }[],
        summary: `${name} ${text}. Anliegen: ${concern}.`,
        tags: [...new Set([pick(TAGS), ...(rnd() < 0.5 ? [pick(TAGS)] : [])])],
        leadGrade: pick(["A", "B", "C"]),
        createdAt: startedAt + talkMs,
      });
      statusStmt.run(pick(STATUSES), id);
    }
  })();
  return { ids, callers };
}

// ---------------------------------------------------------------------------------------------------------------
// Calling handlers directly

/** A response that counts bytes and forgets them; enough of ServerResponse for the handlers and exceljs. */
class CountingResponse extends Writable {
  bytes = 0;
  statusCode = 200;
  headersSent = false;
  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }
  setHeader(): this {
    return this;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.bytes += chunk.length;
    cb();
  }
}

async function viaHandler(routes: Route[], method: string, path: string): Promise<number> {
  const url = new URL(path, "https://box.local");
  for (const r of routes) {
    if (r.method !== method) continue;
    const names: string[] = [];
    const pattern = r.path.replace(/:([a-z]+)/gi, (_, n: string) => {
      names.push(n);
      return "([^/]+)";
    });
    const m = new RegExp(`^${pattern}$`).exec(url.pathname);
    if (!m) continue;
    const res = new CountingResponse();
    const ctx: RouteContext = {
      req: { headers: {} } as RouteContext["req"],
      res: res as unknown as ServerResponse,
      url,
      params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])),
      query: r.query ? r.query.parse(Object.fromEntries(url.searchParams)) : {},
      body: undefined,
      user: { name: "bench", role: "admin", mustChange: false },
      remoteAddress: "127.0.0.1",
      audit: () => {},
    };
    const out = await r.handle(ctx);
    if (typeof out === "symbol") {
      if (!res.writableFinished) await new Promise((ok) => res.once("finish", ok));
      return res.bytes;
    }
    return Buffer.byteLength(JSON.stringify(out));
  }
  throw new Error(`no route for ${method} ${path}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The operations

interface Op {
  name: string;
  runs: number;
  /** The request path for run i. */
  path(i: number): string;
}

function operations(ids: string[], callers: string[], now: number): Op[] {
  const words = ["Rechnung", "heizung", "Kündigung", "Techniker", "samstag", "Reklamation", "lead", "zählerstand"];
  const numbered = callers.filter((c) => c !== "anonymous");
  const day = (i: number) => new Date(now - (i % 60) * 86_400_000).toISOString().slice(0, 10);
  const from = new Date(now - 30 * 86_400_000).toISOString().slice(0, 10);
  return [
    { name: "list, first page (50)", runs: RUNS, path: () => "/api/calls" },
    {
      name: "list, status+agent+from",
      runs: RUNS,
      path: (i) => `/api/calls?status=${["new", "done", "in_progress"][i % 3]}&agent=${AGENTS[i % 5]}&from=${from}`,
    },
    { name: "search q (summary word)", runs: RUNS, path: (i) => `/api/calls?q=${encodeURIComponent(words[i % 8]!)}` },
    {
      name: "search q (2 words, page 2)",
      runs: RUNS,
      path: (i) => `/api/calls?q=${encodeURIComponent(`termin ${["dienstag", "nachmittags"][i % 2]}`)}&limit=20`,
    },
    { name: "search q (rare: no match)", runs: RUNS, path: () => "/api/calls?q=Waschmaschine" },
    {
      name: "caller filter (0 form)",
      runs: RUNS,
      path: (i) => `/api/calls?caller=${encodeURIComponent(numbered[(i * 7919) % numbered.length]!)}`,
    },
    {
      name: "search q (digits of a number)",
      runs: RUNS,
      path: (i) => `/api/calls?q=${numbered[(i * 104_729) % numbered.length]!.slice(-6)}`,
    },
    { name: "detail", runs: RUNS, path: (i) => `/api/calls/${ids[(i * 7919) % ids.length]}` },
    { name: "KPIs of a day", runs: Math.min(RUNS, 60), path: (i) => `/api/kpis?day=${day(i)}` },
    { name: "CSV export, all", runs: EXPORTS, path: () => "/api/exports/calls.csv" },
    { name: "XLSX export, all", runs: EXPORTS, path: () => "/api/exports/calls.xlsx" },
  ];
}

interface Figures {
  p50: number;
  p99: number;
  max: number;
  bytes: number;
}

async function measure(op: Op, call: (path: string) => Promise<number>): Promise<Figures> {
  await call(op.path(0)); // prepare the statements, warm the JIT and the page cache
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < op.runs; i++) {
    const t = performance.now();
    bytes = await call(op.path(i + 1));
    ms.push(performance.now() - t);
  }
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms), bytes };
}

const f1 = (x: number) => x.toFixed(x < 10 ? 2 : 1).padStart(8);
const size = (b: number) => (b >= 1_048_576 ? mb(b) : `${(b / 1024).toFixed(1)} kB`).padStart(10);

function printTable(title: string, rows: [string, Figures, Figures | undefined][]): void {
  console.log(`\n${title}`);
  console.log(
    `${"operation".padEnd(32)} ${"handler p50".padStart(11)} ${"p99".padStart(8)} ${"max".padStart(8)}   ` +
      `${"HTTPS p50".padStart(9)} ${"p99".padStart(8)} ${"max".padStart(8)}   ${"answer".padStart(10)}`,
  );
  for (const [name, h, s] of rows)
    console.log(
      `${name.padEnd(32)} ${f1(h.p50).padStart(11)} ${f1(h.p99)} ${f1(h.max)}   ` +
        `${s ? `${f1(s.p50).padStart(9)} ${f1(s.p99)} ${f1(s.max)}` : "        -        -        -"}   ${size(h.bytes)}`,
    );
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sb-bench-web-"));
  try {
    const now = localDayRange(new Date().toISOString().slice(0, 10), TZ).start + 20 * 3_600_000;
    const base = join(dir, "fts.db");
    const db0 = openDb(base);
    const t0 = performance.now();
    const { ids, callers } = fillStore(db0, CALLS, now);
    const fillS = (performance.now() - t0) / 1000;
    closeDb(db0);
    const scanFile = join(dir, "scan.db");
    copyFileSync(base, scanFile);
    const dbS = openDb(scanFile);
    dbS.exec("DROP TRIGGER chat_search_outcome; DROP TRIGGER chat_search_call_gone; DROP TABLE chat_search; VACUUM;");
    closeDb(dbS);
    const ftsBytes = statSync(base).size;
    const scanBytes = statSync(scanFile).size;
    console.log(
      `${CALLS} calls stored (search index kept by triggers) in ${fillS.toFixed(1)} s: database ${mb(ftsBytes)}, ` +
        `of which the search index ${mb(ftsBytes - scanBytes)}`,
    );
    console.log(`runs per operation: ${RUNS} (KPIs ${Math.min(RUNS, 60)}, exports ${EXPORTS}); times in ms`);

    for (const [mode, file] of [
      ["shipped schema (migration 5): filter indexes and the FTS5 trigram search index", base],
      ["without the search index: q as LIKE scans over call_outcomes", scanFile],
    ] as const) {
      const db = openDb(file);
      const deps = {
        db,
        timeZone: () => TZ,
        recordingsDir: join(dir, "recordings"),
        voicemailDir: join(dir, "voicemail"),
      };
      const routes = [...callsRoutes(deps), ...exportsRoutes(deps), ...kpisRoutes({ ...deps, now: () => now })];
      const web = await startTestWeb({ db, routes });
      const admin = await web.login("admin");
      // A fresh keep-alive connection per operation (the server closes idle ones while the handlers are measured); the
      // warm-up request of each operation pays its TLS handshake.
      let agent = new Agent({ ca: web.cert, keepAlive: true, maxSockets: 1 });
      const cookie = { cookie: `${sessionCookieName}=${admin.token}` };
      const https = async (path: string) => {
        const r = await send(agent, `${web.base}${path}`, "GET", cookie);
        if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text.slice(0, 200)}`);
        return r.body.length;
      };
      const rows: [string, Figures, Figures | undefined][] = [];
      const rssBefore = process.memoryUsage().rss;
      for (const op of operations(ids, callers, now)) {
        const h = await measure(op, (p) => viaHandler(routes, "GET", p));
        agent.destroy();
        agent = new Agent({ ca: web.cert, keepAlive: true, maxSockets: 1 });
        const s = await measure(op, https);
        rows.push([op.name, h, s]);
      }
      const rssAfter = process.memoryUsage().rss;
      printTable(mode, rows);
      const total = JSON.parse(
        (
          await send(agent, `${web.base}/api/calls?limit=1`, "GET", {
            cookie: `${sessionCookieName}=${admin.token}`,
          })
        ).text,
      ) as { total: number };
      console.log(`(conversations listed: ${total.total}; RSS ${mb(rssBefore)} -> ${mb(rssAfter)})`);
      agent.destroy();
      await web.close();
      closeDb(db);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Importable for its store generator (fillStore) without running.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
