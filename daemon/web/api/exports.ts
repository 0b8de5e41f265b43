// CDR exports for admins: the calls the Chats filters select, as CSV (RFC 4180, UTF-8 with a BOM so Excel reads the
// umlauts, text cells that a spreadsheet would run as a formula defused with a leading ') or as XLSX (exceljs's
// streaming writer, typed cells: dates as dates in the box's local time, durations as numbers). Both stream the rows in
// batches with backpressure, so 10,000+ calls never sit in memory at once. Every export is audited as calls.export.
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import ExcelJS from "exceljs";
import { Chats, type ExportRow, isoInZone, localDate, zoneOffsetMs } from "../../store/chats.ts";
import { type Route, route, SENT } from "../route.ts";
import { type CallsDeps, callFilterQuery, filterOf } from "./calls.ts";

export type ExportsDeps = Pick<CallsDeps, "db" | "timeZone">;

type Kind = "text" | "date" | "number";

interface Column {
  header: string;
  kind: Kind;
  /** XLSX column width in characters. */
  width: number;
  /** ms for dates, seconds for numbers, text otherwise; undefined = empty cell. */
  value(r: ExportRow): string | number | undefined;
}

export const exportColumns: readonly Column[] = [
  { header: "id", kind: "text", width: 38, value: (r) => r.id },
  { header: "direction", kind: "text", width: 10, value: (r) => r.direction },
  { header: "started", kind: "date", width: 20, value: (r) => r.startedAt },
  { header: "answered", kind: "date", width: 20, value: (r) => r.answeredAt },
  { header: "ended", kind: "date", width: 20, value: (r) => r.endedAt },
  {
    header: "duration_s",
    kind: "number",
    width: 11,
    value: (r) => (r.durationMs === undefined ? undefined : Math.round(r.durationMs / 1000)),
  },
  { header: "caller", kind: "text", width: 18, value: (r) => r.caller },
  { header: "did", kind: "text", width: 16, value: (r) => r.did },
  { header: "agents", kind: "text", width: 20, value: (r) => r.agents.join(", ") },
  { header: "outcome", kind: "text", width: 12, value: (r) => r.outcome },
  { header: "status", kind: "text", width: 12, value: (r) => r.status },
  { header: "lead_grade", kind: "text", width: 10, value: (r) => r.leadGrade },
  { header: "tags", kind: "text", width: 24, value: (r) => r.tags.join(", ") },
  { header: "summary", kind: "text", width: 60, value: (r) => r.summary },
  { header: "hangup_cause", kind: "text", width: 20, value: (r) => r.hangupCause },
  { header: "hangup_side", kind: "text", width: 11, value: (r) => r.hangupSide },
  { header: "codec", kind: "text", width: 8, value: (r) => r.codec },
  { header: "recording", kind: "text", width: 10, value: (r) => (r.hasRecording ? "yes" : "no") },
];

/** A text a spreadsheet would take for a formula (= + - @, or a tab/CR that some strip first) gets a leading '. */
export function defused(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(r: ExportRow, timeZone: string): string {
  const cells = exportColumns.map((c) => {
    const v = c.value(r);
    if (v === undefined || v === "") return "";
    if (c.kind === "date") return isoInZone(v as number, timeZone);
    if (c.kind === "number") return String(v);
    return csvField(defused(String(v)));
  });
  return `${cells.join(",")}\r\n`;
}

/** Resolves when the socket wants more, or when it is gone (then res.destroyed tells the writer to stop). */
function drained(res: ServerResponse): Promise<void> {
  if (!res.writableNeedDrain || res.destroyed) return Promise.resolve();
  const ac = new AbortController();
  return Promise.race([once(res, "drain", ac), once(res, "close", ac)]).then(
    () => ac.abort(),
    () => ac.abort(),
  );
}

const CHUNK_CHARS = 64 * 1024;

/** Streams the CSV; resolves with the number of rows written (fewer when the client went away). */
export async function writeCsv(res: ServerResponse, rows: Iterable<ExportRow>, timeZone: string): Promise<number> {
  let chunk = `\uFEFF${exportColumns.map((c) => c.header).join(",")}\r\n`;
  let n = 0;
  for (const r of rows) {
    chunk += csvLine(r, timeZone);
    n++;
    if (chunk.length >= CHUNK_CHARS) {
      res.write(chunk);
      chunk = "";
      await drained(res);
      if (res.destroyed) return n;
    }
  }
  res.end(chunk);
  return n;
}

/** Streams the XLSX workbook; resolves with the number of rows written. */
export async function writeXlsx(res: ServerResponse, rows: Iterable<ExportRow>, timeZone: string): Promise<number> {
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: res, useStyles: true, useSharedStrings: false });
  const sheet = book.addWorksheet("Calls", { views: [{ state: "frozen", ySplit: 1 }] });
  // Excel dates have no zone: the cells hold the box's local wall time, and the headers say which zone that is.
  sheet.columns = exportColumns.map((c) => ({
    header: c.kind === "date" ? `${c.header} (${timeZone})` : c.header,
    key: c.header,
    width: c.width,
    ...(c.kind === "date" && { style: { numFmt: "yyyy-mm-dd hh:mm:ss" } }),
  }));
  let n = 0;
  for (const r of rows) {
    sheet
      .addRow(
        exportColumns.map((c) => {
          const v = c.value(r);
          if (v === undefined) return null;
          if (c.kind === "date") return new Date((v as number) + zoneOffsetMs(v as number, timeZone));
          return v; // text cells are string cells, never formulas: no defusing needed
        }),
      )
      .commit();
    n++;
    if (n % 200 === 0) {
      await drained(res);
      if (res.destroyed) return n;
    }
  }
  if (res.destroyed) return n;
  sheet.commit();
  // With the client gone, the zip stream may never drain: the answer is over either way.
  await Promise.race([book.commit(), once(res, "close")]);
  return n;
}

export function exportsRoutes(deps: ExportsDeps): Route[] {
  const chats = new Chats(deps.db);
  const start = (format: "csv" | "xlsx") =>
    route({
      method: "GET",
      path: `/api/exports/calls.${format}`,
      access: "admin",
      summary: `The filtered calls (CDR and outcome) as ${format.toUpperCase()}; audited as calls.export`,
      tag: "exports",
      query: callFilterQuery,
      produces: format === "csv" ? "text/csv" : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      handle: async ({ query, res, audit }) => {
        const timeZone = deps.timeZone();
        const filter = filterOf(query, timeZone);
        audit({ action: "calls.export", target: `calls.${format}`, detail: { format, filter: query } });
        const name = `calls-${localDate(Date.now(), timeZone)}.${format}`;
        res.writeHead(200, {
          "content-type":
            format === "csv"
              ? "text/csv; charset=utf-8; header=present"
              : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "content-disposition": `attachment; filename="${name}"`,
        });
        const rows = chats.exportRows(filter);
        await (format === "csv" ? writeCsv(res, rows, timeZone) : writeXlsx(res, rows, timeZone));
        return SENT;
      },
    });
  return [start("csv"), start("xlsx")];
}
