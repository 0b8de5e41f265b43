// Benchmark (not a test): page weight and time to interactive of the admin page's Dashboard and Chats with 10,000
// calls stored, in a real Chromium against the real daemon (HTTPS, session, SSE). Each page is opened cold (fresh
// browser cache) and warm (second visit) several times:
// - weight: bytes over the wire (CDP Network.loadingFinished encodedDataLength: compressed, headers included) and
//   requests;
// - DOMContentLoaded and load of the document;
// - interactive: navigation start until the page's data is on screen (Dashboard: the KPI tiles and the live list;
//   Chats: the first page of cards) — what a user waits for before they can act.
//   npm run bench -- web-page [--calls 10000] [--runs 5]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { closeDb, openDb } from "../daemon/store/db.ts";
import { type ChromiumHandle, launchChromium } from "../test/peers/chromium.ts";
import { startDaemon, stopAll } from "../test/peers/daemon.ts";
import { argNum, percentile } from "./lib/bench.ts";
import { fillStore } from "./web-api.ts";

const CALLS = argNum("calls", 10_000);
const RUNS = argNum("runs", 5);
const SECRET = "bench-first-boot-secret-1";
const PASSWORD = "bench-password-123";

interface Visit {
  bytes: number;
  requests: number;
  dclMs: number;
  loadMs: number;
  interactiveMs: number;
}

const PAGES = [
  // The KPI tiles filled and the live list drawn (empty or not) = the dashboard shows today.
  { name: "Dashboard", hash: "#/dashboard", ready: '[data-testid="kpi-calls"] strong' },
  { name: "Chats", hash: "#/chats", ready: '[data-testid="chat-card"] >> nth=49' },
] as const;

async function visit(browser: Browser, base: string, hash: string, ready: string, warm: boolean): Promise<Visit> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await logIn(page, base);
    if (warm) {
      await page.goto(`${base}/${hash}`);
      await page.waitForSelector(ready, { timeout: 30_000 });
    }
    // A fresh document for the measured visit; the cache stays (warm) or is dropped (cold).
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    if (!warm) await cdp.send("Network.clearBrowserCache");
    let bytes = 0;
    let requests = 0;
    cdp.on("Network.loadingFinished", (e: { encodedDataLength: number }) => {
      bytes += e.encodedDataLength;
      requests++;
    });
    await page.goto("about:blank");
    const t0 = Date.now();
    await page.goto(`${base}/${hash}`, { waitUntil: "load" });
    await page.waitForSelector(ready, { timeout: 30_000 });
    const interactiveMs = Date.now() - t0;
    // Evaluated in the page (browser types, not Node's): the navigation timing of the measured document.
    const nav = (await page.evaluate(
      `(() => { const n = performance.getEntriesByType("navigation")[0]; return { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd }; })()`,
    )) as { dcl: number; load: number };
    await cdp.detach();
    return { bytes, requests, dclMs: nav.dcl, loadMs: nav.load, interactiveMs };
  } finally {
    await context.close();
  }
}

/** Log in through the page (the session cookie is per browser context). */
async function logIn(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.fill('[data-testid="login-user"]', "admin");
  await page.fill('[data-testid="login-password"]', PASSWORD);
  await page.click('[data-testid="login-submit"]');
  await page.waitForSelector('[data-testid="nav-dashboard"]', { timeout: 15_000 });
}

/** First boot: the one-time secret, then the real password (once per daemon). */
async function replaceFirstBootSecret(browser: Browser, base: string): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.fill('[data-testid="login-user"]', "admin");
  await page.fill('[data-testid="login-password"]', SECRET);
  await page.click('[data-testid="login-submit"]');
  await page.fill('[data-testid="password-current"]', SECRET);
  await page.fill('[data-testid="password-next"]', PASSWORD);
  await page.fill('[data-testid="password-repeat"]', PASSWORD);
  await page.click('[data-testid="password-submit"]');
  await page.waitForSelector('[data-testid="nav-dashboard"]', { timeout: 15_000 });
  await context.close();
}

function row(name: string, vs: Visit[]): string {
  const p = (f: (v: Visit) => number, q: number) => percentile(vs.map(f), q);
  const kb = (b: number) => `${(b / 1024).toFixed(1)} kB`;
  return [
    name.padEnd(18),
    kb(p((v) => v.bytes, 50)).padStart(10),
    String(p((v) => v.requests, 50)).padStart(5),
    p((v) => v.dclMs, 50)
      .toFixed(0)
      .padStart(7),
    p((v) => v.loadMs, 50)
      .toFixed(0)
      .padStart(7),
    p((v) => v.interactiveMs, 50)
      .toFixed(0)
      .padStart(9),
    p((v) => v.interactiveMs, 100)
      .toFixed(0)
      .padStart(9),
  ].join(" ");
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "sb-bench-page-"));
  const dataDir = join(work, "data");
  mkdirSync(dataDir, { recursive: true });
  let chrome: ChromiumHandle | undefined;
  let browser: Browser | undefined;
  try {
    const db = openDb(join(dataDir, "switchboard.db"));
    const now = Date.now();
    fillStore(db, CALLS, now);
    closeDb(db);
    writeFileSync(join(dataDir, "first-boot-secret"), SECRET, { mode: 0o600 });
    const daemon = await startDaemon({ dataDir, config: { log: { level: "info" } } });
    // The box's certificate is trusted the way an admin trusts it after checking its fingerprint: Chromium does not
    // cache anything from an origin whose certificate error was merely ignored, which would hide the warm visits.
    chrome = await launchChromium({ trustCerts: [join(dataDir, "web", "cert.pem")] });
    browser = chrome.browser;
    await replaceFirstBootSecret(browser, daemon.webUrl);
    console.log(`${CALLS} calls stored; ${RUNS} visits per row; Chromium ${browser.version()}, loopback HTTPS`);
    console.log("page / cache         weight  req  DCL ms load ms  ready p50  ready max");
    for (const pg of PAGES) {
      for (const warm of [false, true]) {
        const vs: Visit[] = [];
        for (let i = 0; i < RUNS; i++) vs.push(await visit(browser, daemon.webUrl, pg.hash, pg.ready, warm));
        console.log(row(`${pg.name} ${warm ? "warm" : "cold"}`, vs));
      }
    }
  } finally {
    await chrome?.close();
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
