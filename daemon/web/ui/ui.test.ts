// The admin page's logic that needs no browser: translations complete in both languages, the week view, the flow
// graph layout, locating a flow node in the editor's text, problem paths, and source rules (no innerHTML, no inline
// script or style, nothing loaded from outside the box).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const dir = new URL(".", import.meta.url).pathname;

/** The UI is plain browser JavaScript without type declarations; each test names the shape it uses. */
async function load<T>(rel: string): Promise<T> {
  return (await import(new URL(rel, import.meta.url).href)) as T;
}

interface I18n {
  TEXTS: Record<string, string | [string, string]>;
  t(key: string, vars?: Record<string, unknown>): string;
  tv(prefix: string, value: unknown): string;
  setLang(l: string): void;
  lang(): string;
  fmtDuration(ms: number): string;
}
interface Week {
  DAYS: string[];
  parseRange(text: string): { start: number; end: number } | null;
  weekCoverage(windows: unknown[]): { day: string; segments: { start: number; end: number; window: number }[] }[];
}
interface Graph {
  layoutGraph(g: unknown): {
    nodes: { id: string; layer: number; x: number; y: number }[];
    edges: { from: string; to: string; back: boolean }[];
  };
  elementSpans(text: string): [number, number][];
  nodeIndexOf(path: string, prefix: string): number;
}
interface Api {
  withQuery(path: string, q: Record<string, unknown>): string;
  problemsOf(err: unknown): { path: string; message: string }[];
  ApiError: new (status: number, body: unknown) => Error;
}
interface Dom {
  pathParents(path: string): string[];
  pathOf(parts: (string | number)[]): string;
}

function sources(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|html|css)$/.test(e.name)) out.push({ file: p.slice(dir.length), text: readFileSync(p, "utf8") });
    }
  };
  walk(dir);
  return out;
}

describe("i18n", () => {
  it("has a German and an English text for every key", async () => {
    const { TEXTS } = await load<I18n>("./i18n.js");
    for (const [k, v] of Object.entries(TEXTS)) {
      if (typeof v === "string") assert.ok(v.length > 0, k);
      else {
        assert.equal(v.length, 2, k);
        assert.ok(v[0] && v[1], `${k} is empty in a language`);
      }
    }
  });

  it("knows every key the pages use", async () => {
    const { TEXTS } = await load<I18n>("./i18n.js");
    const missing = new Set<string>();
    for (const { file, text } of sources().filter((s) => s.file.endsWith(".js"))) {
      for (const m of text.matchAll(/\bt\("([a-zA-Z0-9_.-]+)"/g))
        if (!(m[1]! in TEXTS)) missing.add(`${file}: ${m[1]}`);
    }
    assert.deepEqual([...missing], []);
  });

  it("knows every value of the families built from data", async () => {
    const { TEXTS } = await load<I18n>("./i18n.js");
    const families: Record<string, readonly string[]> = {
      "day.": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
      "status.": ["new", "in_progress", "done"],
      "template.": ["operator", "workflow", "voicemail", "faq", "human"],
      "role.": ["admin", "staff"],
      "outcome.": ["completed", "transferred", "voicemail", "callback", "abandoned", "hangup"],
      "nav.": ["dashboard", "chats", "softphone", "agents", "windows", "flows", "knowledge", "numbers", "users"],
      "slot.": [
        "name",
        "phone",
        "email",
        "number",
        "digits",
        "date",
        "time",
        "datetime",
        "postcode",
        "iban",
        "pattern",
      ],
    };
    const { REGIONS } = await load<{ REGIONS: string[] }>("./pages/windows.js");
    families["region."] = REGIONS;
    for (const [prefix, values] of Object.entries(families))
      for (const v of values) assert.ok(`${prefix}${v}` in TEXTS, `${prefix}${v}`);
  });

  it("fills variables, switches language and shows unknown values as they are", async () => {
    const { t, tv, setLang } = await load<I18n>("./i18n.js");
    setLang("en");
    assert.equal(t("chats.total", { n: 3 }), "3 chats");
    assert.equal(t("no.such.key"), "no.such.key");
    assert.equal(tv("trunk.", "registered"), "registered");
    assert.equal(tv("trunk.", "weird-state"), "weird-state");
    setLang("de");
    assert.equal(t("chats.total", { n: 3 }), "3 Gespräche");
    assert.equal(t("nav.system"), "System");
    setLang("xx");
    assert.equal(t("status.done"), "erledigt", "an unknown language is refused");
    setLang("en");
  });

  it("formats durations as m:ss and h:mm:ss", async () => {
    const { fmtDuration } = await load<I18n>("./i18n.js");
    assert.equal(fmtDuration(0), "0:00");
    assert.equal(fmtDuration(65_000), "1:05");
    assert.equal(fmtDuration(3_723_000), "1:02:03");
  });
});

describe("week view", () => {
  it("parses ranges like the schema (24:00 only as an end)", async () => {
    const { parseRange } = await load<Week>("./week.js");
    assert.deepEqual(parseRange("08:00-12:30"), { start: 480, end: 750 });
    assert.deepEqual(parseRange("22:00-24:00"), { start: 1320, end: 1440 });
    assert.equal(parseRange("24:00-08:00"), null);
    assert.equal(parseRange("08:00-08:00"), null);
    assert.equal(parseRange("8-12"), null);
  });

  it("gives each minute to the first window that covers it, the always window the rest", async () => {
    const { weekCoverage } = await load<Week>("./week.js");
    const cov = weekCoverage([
      { id: "lunch", weekly: { mon: ["12:00-13:00"] } },
      { id: "day", weekly: { mon: ["08:00-17:00"], tue: ["bad"] } },
      { id: "closed", always: true },
    ]);
    assert.deepEqual(cov[0]!.segments, [
      { start: 0, end: 480, window: 2 },
      { start: 480, end: 720, window: 1 },
      { start: 720, end: 780, window: 0 },
      { start: 780, end: 1020, window: 1 },
      { start: 1020, end: 1440, window: 2 },
    ]);
    assert.deepEqual(cov[1]!.segments, [{ start: 0, end: 1440, window: 2 }], "an invalid range covers nothing");
  });

  it("runs a range past midnight into the next day, Sunday into Monday", async () => {
    const { weekCoverage } = await load<Week>("./week.js");
    const cov = weekCoverage([{ id: "night", weekly: { sun: ["22:00-06:00"] } }]);
    assert.deepEqual(cov[6]!.segments, [{ start: 1320, end: 1440, window: 0 }]);
    assert.deepEqual(cov[0]!.segments, [{ start: 0, end: 360, window: 0 }]);
  });
});

describe("flow graph", () => {
  it("layers nodes by distance from the first, marks jumps back, drops edges to unknown nodes", async () => {
    const { layoutGraph } = await load<Graph>("./graph.js");
    const g = layoutGraph({
      nodes: [
        { id: "a", type: "menu", label: "A" },
        { id: "b", type: "say", label: "B" },
        { id: "c", type: "say", label: "C" },
        { id: "d", type: "hangup", label: "D" },
        { id: "lost", type: "say", label: "unreachable" },
      ],
      edges: [
        { from: "a", to: "b" },
        { from: "a", to: "c" },
        { from: "b", to: "d" },
        { from: "d", to: "a", label: "again" },
        { from: "c", to: "ghost" },
      ],
    });
    const layer = Object.fromEntries(g.nodes.map((n) => [n.id, n.layer]));
    assert.deepEqual(layer, { a: 0, b: 1, c: 1, d: 2, lost: 3 });
    assert.equal(g.edges.length, 4);
    assert.deepEqual(
      g.edges.filter((e) => e.back).map((e) => `${e.from}>${e.to}`),
      ["d>a"],
    );
    const b = g.nodes.find((n) => n.id === "b")!;
    const c = g.nodes.find((n) => n.id === "c")!;
    assert.equal(b.y, c.y);
    assert.notEqual(b.x, c.x);
  });

  it("finds each node's text in the editor, whatever its strings contain", async () => {
    const { elementSpans } = await load<Graph>("./graph.js");
    const text = '[\n  {"type": "say", "text": "a, [b] {c} \\"d\\""},\n  {"type": "hangup"} ,\n  [1, 2]\n]';
    const spans = elementSpans(text);
    assert.deepEqual(
      spans.map(([s, e]) => text.slice(s, e)),
      ['{"type": "say", "text": "a, [b] {c} \\"d\\""}', '{"type": "hangup"}', "[1, 2]"],
    );
    assert.deepEqual(elementSpans("[]"), []);
  });

  it("reads the node index from a problem path", async () => {
    const { nodeIndexOf } = await load<Graph>("./graph.js");
    assert.equal(nodeIndexOf("agents[2].flow[5].to.agent", "agents[2].flow"), 5);
    assert.equal(nodeIndexOf("agents[2].flow", "agents[2].flow"), -1);
    assert.equal(nodeIndexOf("agents[1].flow[5]", "agents[2].flow"), -1);
  });
});

describe("api and problems", () => {
  it("leaves empty filters out of the query", async () => {
    const { withQuery } = await load<Api>("./api.js");
    assert.equal(
      withQuery("/api/calls", { status: "new", q: "", agent: undefined, limit: 50 }),
      "/api/calls?status=new&limit=50",
    );
    assert.equal(withQuery("/api/calls", {}), "/api/calls");
    assert.equal(withQuery("/x", { q: "a&b" }), "/x?q=a%26b");
  });

  it("turns an error answer into field problems: the list, else the error at `where`", async () => {
    const { ApiError, problemsOf } = await load<Api>("./api.js");
    const list = [{ path: "routing.windows[0].weekly.mon[1]", message: "overlaps" }];
    assert.deepEqual(problemsOf(new ApiError(422, { error: "invalid", problems: list })), list);
    assert.deepEqual(problemsOf(new ApiError(400, { error: "bad", where: "body.name" })), [
      { path: "body.name", message: "bad" },
    ]);
  });

  it("walks a problem path up to the nearest control that exists", async () => {
    const { pathParents, pathOf } = await load<Dom>("./dom.js");
    assert.deepEqual(pathParents("routing.windows[0].weekly.mon[1]"), [
      "routing.windows[0].weekly.mon[1]",
      "routing.windows[0].weekly.mon",
      "routing.windows[0].weekly",
      "routing.windows[0]",
      "routing.windows",
      "routing",
    ]);
    assert.equal(pathOf(["agents", 0, "flow", 3, "to"]), "agents[0].flow[3].to");
  });
});

describe("source rules", () => {
  it("builds no markup from strings and evaluates no code", () => {
    for (const { file, text } of sources().filter((s) => s.file.endsWith(".js"))) {
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
      assert.doesNotMatch(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/, file);
    }
  });

  it("has no inline script or style (CSP default-src 'self') and loads the app as a module", () => {
    const html = readFileSync(join(dir, "index.html"), "utf8");
    assert.match(html, /<script type="module" src="\/app\.js"><\/script>/);
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
    for (const { file, text } of sources())
      assert.doesNotMatch(
        text,
        /setAttribute\("style"|https?:\/\/(?!www\.w3\.org)/,
        `${file} styles inline or loads from outside`,
      );
  });

  it("stays small (no libraries)", () => {
    const bytes = sources()
      .filter((s) => /\.(js|css)$/.test(s.file))
      .reduce((n, s) => n + Buffer.byteLength(s.text), 0);
    assert.ok(bytes < 200_000, `${bytes} bytes of JS and CSS`);
  });
});
