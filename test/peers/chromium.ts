// Launching the real Chromium (Debian package `chromium`) for peer tests through playwright-core: never a downloaded
// browser, a fresh profile per launch, the daemon's self-signed certificate trusted by its public key (the way an
// admin trusts it after checking the fingerprint), and optionally a WAV file as the microphone.
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { hasBinary } from "./daemon.ts";

export const chromiumPath = process.env.SWITCHBOARD_CHROMIUM ?? "/usr/bin/chromium";

/**
 * For `describe(name, { skip })`: a skip message when Chromium (or another binary the test needs) is missing locally;
 * `false` in CI, where test/setup.sh must have installed them and the test should fail loudly instead.
 */
export function skipUnlessChromium(...bins: string[]): string | false {
  if (process.env.CI === "true") return false;
  if (!existsSync(chromiumPath)) return `${chromiumPath} is missing (run test/setup.sh as root to install it)`;
  const missing = bins.filter((b) => !hasBinary(b));
  return missing.length ? `peer binaries missing: ${missing.join(", ")} (run test/setup.sh as root)` : false;
}

/** base64 SHA-256 of a PEM certificate's public key, as --ignore-certificate-errors-spki-list wants it. */
export function spkiHash(certPemFile: string): string {
  const cert = new X509Certificate(readFileSync(certPemFile));
  return createHash("sha256")
    .update(cert.publicKey.export({ type: "spki", format: "der" }))
    .digest("base64");
}

export interface ChromiumOptions {
  /** PEM certificate files whose keys Chromium trusts (e.g. `<dataDir>/web/cert.pem`). */
  trustCerts?: string[];
  /** A WAV (48 kHz mono plays best) that the fake microphone loops; without it the fake device sends a beep. */
  fakeMicWav?: string;
  args?: string[];
}

export interface ChromiumHandle {
  browser: Browser;
  /** Closes the browser and removes its profile; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts headless Chromium. Playwright gives each launch its own temporary profile (--user-data-dir), so no cookie,
 * cache or permission leaks between launches; contexts of one launch are isolated from each other as well.
 */
export async function launchChromium(opts: ChromiumOptions = {}): Promise<ChromiumHandle> {
  const downloads = mkdtempSync(join(tmpdir(), "switchboard-chromium-"));
  const spki = (opts.trustCerts ?? []).map(spkiHash);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    downloadsPath: downloads,
    timeout: 30_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      ...(opts.fakeMicWav ? [`--use-file-for-fake-audio-capture=${opts.fakeMicWav}`] : []),
      "--autoplay-policy=no-user-gesture-required",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      ...(spki.length ? [`--ignore-certificate-errors-spki-list=${spki.join(",")}`] : []),
      ...(opts.args ?? []),
    ],
  });
  let closed = false;
  return {
    browser,
    async close() {
      if (closed) return;
      closed = true;
      await browser.close().catch(() => undefined);
      rmSync(downloads, { recursive: true, force: true });
    },
  };
}
