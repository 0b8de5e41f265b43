// Serves the web page's files (daemon/web/ui): index.html for "/" and for client-side routes, the right content
// types, strong ETags with 304, gzip when the browser takes it. Nothing outside the folder is reachable: encoded
// "..", backslashes, NUL, dot-files and symlinks leading out all answer 404.
import { createHash } from "node:crypto";
import { realpathSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, sep } from "node:path";
import { gzipSync } from "node:zlib";

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".txt": "text/plain; charset=utf-8",
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
  ".wasm": "application/wasm",
};
const compressible = /^(text\/|application\/(json|manifest\+json|wasm)|image\/svg)/;

interface CachedFile {
  mtimeMs: number;
  size: number;
  type: string;
  body: Buffer;
  gzipped?: Buffer;
  etag: string;
}

export type StaticHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export function staticFiles(rootDir: string): StaticHandler {
  const cache = new Map<string, CachedFile>();
  let root: string | undefined;

  const load = async (file: string): Promise<CachedFile | undefined> => {
    try {
      root ??= realpathSync(rootDir);
      const real = realpathSync(file);
      if (!real.startsWith(root + sep)) return undefined; // a symlink leading out of the folder
      if (/\.test\.[cm]?[jt]s$/.test(real)) return undefined; // the UI's own tests sit beside it; they are not the page
      const st = statSync(real);
      if (!st.isFile()) return undefined;
      const hit = cache.get(real);
      if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
      const body = await readFile(real);
      const type = types[extname(real).toLowerCase()] ?? "application/octet-stream";
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
      const entry: CachedFile = { mtimeMs: st.mtimeMs, size: st.size, type, body, etag };
      if (compressible.test(type) && body.length > 1024) entry.gzipped = gzipSync(body);
      cache.set(real, entry);
      return entry;
    } catch {
      return undefined;
    }
  };

  return async (req, res, url) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res
        .writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" })
        .end("method not allowed\n");
      return;
    }
    const rel = safeRelativePath(url.pathname);
    if (rel === undefined) return notFound(res);
    const last = rel.split("/").pop() ?? "";
    let file = rel === "" ? undefined : await load(join(rootDir, rel));
    // Client-side routes (no file extension) get the page itself; a missing asset is a 404.
    if (!file && !last.includes(".")) file = await load(join(rootDir, "index.html"));
    if (!file) return notFound(res, rel === "" || !last.includes(".") ? "the web page is not installed\n" : undefined);
    send(req, res, file);
  };
}

/** The path below the root, or undefined for anything that tries to leave it or to reach hidden files. */
export function safeRelativePath(pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return undefined;
  const parts = decoded.split("/").filter((p) => p !== "");
  if (parts.some((p) => p.startsWith("."))) return undefined; // "..", ".", ".env", ".git"
  return parts.join("/");
}

function send(req: IncomingMessage, res: ServerResponse, f: CachedFile): void {
  const gzip = f.gzipped !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const etag = gzip ? `${f.etag.slice(0, -1)}-gz"` : f.etag;
  const headers: Record<string, string | number> = {
    "content-type": f.type,
    etag,
    // Revalidate every time: file names carry no version, and the ETag makes the check cheap.
    "cache-control": "no-cache",
  };
  if (f.gzipped) headers.vary = "accept-encoding";
  const inm = String(req.headers["if-none-match"] ?? "");
  if (inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag || t.trim() === "*")) {
    res.writeHead(304, headers).end();
    return;
  }
  const body = gzip ? (f.gzipped as Buffer) : f.body;
  if (gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : body);
}

function notFound(res: ServerResponse, text = "not found\n"): void {
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(text);
}
