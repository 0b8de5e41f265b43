import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import ExcelJS from "exceljs";
import { CallOutcomes } from "../../store/call-outcomes.ts";
import { CallRecords } from "../../store/calls.ts";
import type { Db } from "../../store/db.ts";
import { sessionCookieName } from "../auth/sessions.ts";
import { startTestWeb, type TestClient, type TestWeb } from "../testkit.ts";
import { csvField, defused, exportColumns, exportsRoutes } from "./exports.ts";

/** RFC 4180 reader, independent of the writer: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  assert.equal(field + row.join(""), "", "the file ends with CRLF");
  return rows;
}

const nasty = 'He said "call me, please"\nsecond line, with comma';
const T = Date.parse("2025-07-01T08:00:00Z"); // 10:00 in Berlin (summer time)

function seed(db: Db, n: number) {
  const cdr = new CallRecords(db);
  const outcomes = new CallOutcomes(db);
  for (let i = 0; i < n; i++) {
    const id = `call-${String(i).padStart(5, "0")}`;
    const at = T - i * 60_000;
    cdr.start({
      id,
      direction: "inbound",
      fromUri: `sip:+49301${i}@trunk`,
      fromNumber: i === 1 ? "=cmd|' /C calc'!A0" : `+49301${i}`,
      toUri: "sip:box@x",
      did: "+4930999",
      sipCallId: id,
      startedAt: at,
    });
    cdr.answered(id, at + 2000, "G722");
    cdr.ended(id, { endedAt: at + 2000 + 61_400, hangupCause: "normal", hangupSide: "caller" });
    outcomes.save({
      callId: id,
      agents: ["empfang", "faq"],
      slots: {},
      outcome: "completed",
      actions: [],
      transcript: [{ atMs: 0, speaker: "caller", text: "hallo" }],
      summary: i === 0 ? nasty : i === 2 ? '=HYPERLINK("http://evil")' : `Zusammenfassung ${i} für Müller`,
      tags: i === 3 ? ["-minus", "@at"] : ["termin"],
      leadGrade: "B",
      createdAt: at,
    });
  }
}

describe("exports API", () => {
  let web: TestWeb;
  let admin: TestClient;
  let staff: TestClient;
  const N = 1203; // more than two export batches

  before(async () => {
    web = await startTestWeb({
      routes: (deps) => exportsRoutes({ db: deps.db, timeZone: () => "Europe/Berlin" }),
    });
    web.db.transaction(() => seed(web.db, N))(); // one commit: a file database syncs each one
    admin = await web.login("admin");
    staff = await web.login("staff");
  });
  after(() => web.close());

  test("admins only", async () => {
    assert.equal((await staff.get("/api/exports/calls.csv")).status, 403);
    assert.equal((await staff.get("/api/exports/calls.xlsx")).status, 403);
  });

  test("CSV: BOM, header, every row, RFC 4180 quoting and formula guard round-trip", async () => {
    const r = await admin.get("/api/exports/calls.csv");
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/csv; charset=utf-8/);
    assert.match(String(r.headers["content-disposition"]), /^attachment; filename="calls-\d{4}-\d{2}-\d{2}\.csv"$/);
    assert.deepEqual([...r.body.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    const rows = parseCsv(r.text.slice(1));
    assert.deepEqual(
      rows[0],
      exportColumns.map((c) => c.header),
    );
    assert.equal(rows.length, N + 1);
    const col = (name: string) => rows[0]!.indexOf(name);
    const [, first, second, third, fourth] = rows;
    assert.equal(first![col("id")], "call-00000");
    assert.equal(first![col("summary")], nasty);
    assert.equal(first![col("started")], "2025-07-01T10:00:00+02:00");
    assert.equal(first![col("answered")], "2025-07-01T10:00:02+02:00");
    assert.equal(first![col("duration_s")], "61");
    assert.equal(first![col("caller")], "'+493010");
    assert.equal(first![col("agents")], "empfang, faq");
    assert.equal(first![col("status")], "new");
    assert.equal(first![col("recording")], "no");
    assert.equal(first![col("codec")], "G722");
    assert.equal(second![col("caller")], "'=cmd|' /C calc'!A0");
    assert.equal(third![col("summary")], '\'=HYPERLINK("http://evil")');
    assert.equal(fourth![col("tags")], "'-minus, @at");
    assert.equal(rows[N]![col("summary")], `Zusammenfassung ${N - 1} für Müller`);
    assert.ok(rows.every((row) => row.length === exportColumns.length));
  });

  test("CSV: the list's filters apply", async () => {
    const day = await admin.get("/api/exports/calls.csv?from=2025-07-01&to=2025-07-01&q=M%C3%BCller");
    const rows = parseCsv(day.text.slice(1));
    // 10:00 back to 00:00 local: calls 0..600 started that day; 0, 2 have other summaries.
    assert.equal(rows.length - 1, 601 - 2);
    const bad = await admin.get("/api/exports/calls.csv?from=soon");
    assert.equal(bad.status, 400);
    assert.equal(bad.json().where, "query.from");
  });

  test("XLSX: readable with exceljs, typed cells", async () => {
    const r = await admin.get("/api/exports/calls.xlsx?to=2025-07-01");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(r.body as unknown as ArrayBuffer);
    const sheet = book.getWorksheet("Calls")!;
    const header = (sheet.getRow(1).values as unknown[]).slice(1);
    assert.equal(header[2], "started (Europe/Berlin)");
    assert.equal(header[13], "summary");
    assert.equal(sheet.rowCount, N + 1);
    const row = sheet.getRow(2);
    const cell = (name: string) => row.getCell(exportColumns.findIndex((c) => c.header === name) + 1);
    assert.equal(cell("id").value, "call-00000");
    assert.equal(cell("summary").value, nasty);
    // Local wall time (10:00 in Berlin) as an Excel date.
    assert.ok(cell("started").value instanceof Date);
    assert.equal((cell("started").value as Date).toISOString(), "2025-07-01T10:00:00.000Z");
    assert.equal(cell("started").numFmt, "yyyy-mm-dd hh:mm:ss");
    assert.equal(cell("duration_s").value, 61);
    assert.equal(cell("caller").value, "+493010");
    const formulaLike = sheet.getRow(3).getCell(exportColumns.findIndex((c) => c.header === "caller") + 1);
    assert.equal(formulaLike.type, ExcelJS.ValueType.String);
    assert.equal(formulaLike.value, "=cmd|' /C calc'!A0");
    const audits = web.db
      .prepare("SELECT user_name, target FROM audit_log WHERE action = 'calls.export' ORDER BY id")
      .all() as { user_name: string; target: string }[];
    assert.ok(audits.some((a) => a.user_name === "admin" && a.target === "calls.xlsx"));
    assert.ok(audits.some((a) => a.user_name === "admin" && a.target === "calls.csv"));
  });
});

/** Starts a download and hangs up after its first bytes. */
function abandon(web: TestWeb, client: TestClient, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${web.base}${path}`,
      { ca: web.cert, headers: { cookie: `${sessionCookieName}=${client.token}` } },
      (res) => {
        res.once("data", (chunk: Buffer) => {
          req.destroy();
          resolve(chunk.length);
        });
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => e.code !== "ECONNRESET" && reject(e));
    req.end();
  });
}

describe("exports abandoned by the client", () => {
  test("the server stays up and answers the next request", async () => {
    const web = await startTestWeb({
      routes: (deps) => exportsRoutes({ db: deps.db, timeZone: () => "UTC" }),
    });
    try {
      web.db.transaction(() => seed(web.db, 3000))();
      const admin = await web.login("admin");
      for (let i = 0; i < 3; i++) {
        assert.ok((await abandon(web, admin, "/api/exports/calls.csv")) > 0);
        assert.ok((await abandon(web, admin, "/api/exports/calls.xlsx")) > 0);
      }
      const r = await admin.get("/api/exports/calls.csv?q=M%C3%BCller");
      assert.equal(r.status, 200);
      assert.equal(r.text.split("\r\n").length - 2, 3000 - 2);
    } finally {
      await web.close();
    }
  });
});

test("cell helpers", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField('a"b'), '"a""b"');
  assert.equal(csvField("a\r\nb"), '"a\r\nb"');
  assert.equal(defused("=1+1"), "'=1+1");
  assert.equal(defused("+49"), "'+49");
  assert.equal(defused("\tx"), "'\tx");
  assert.equal(defused("a=b"), "a=b");
});
