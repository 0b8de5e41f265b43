// The signed manifest of a provisioning bundle. The signature covers the exact manifest bytes, and the manifest pins
// every file by size and sha256, so one Ed25519 check vouches for the whole bundle.
import { z } from "zod";
import { unsafePathReason } from "../models/manifest.ts";

export const MANIFEST_FILE = "manifest.json";
export const SIGNATURE_FILE = "manifest.sig";
export const FORMAT = 1;

export const ROLES = [
  "site-config",
  "trunk-credentials",
  "master",
  "first-boot-secret",
  "network",
  "model-bundle",
] as const;
export type Role = (typeof ROLES)[number];
/** Roles whose files hold secrets: stored 0600 on the device. */
export const SECRET_ROLES: ReadonlySet<Role> = new Set(["trunk-credentials", "master", "first-boot-secret"]);
/** Roles a bundle may carry at most once (model bundles may be many). */
const SINGLE_ROLES: ReadonlySet<Role> = new Set(ROLES.filter((r) => r !== "model-bundle"));

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const id = z.string().regex(idPattern, "must be 1-128 letters, digits, '.', '_', ':' or '-'");

const contentSchema = z.strictObject({
  path: z.string().check((ctx) => {
    const reason = unsafePathReason(ctx.value);
    if (reason) ctx.issues.push({ code: "custom", input: ctx.value, message: `unsafe path "${ctx.value}": ${reason}` });
    else if (ctx.value === MANIFEST_FILE || ctx.value === SIGNATURE_FILE)
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `"${ctx.value}" is reserved for the bundle itself`,
      });
  }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters"),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  role: z.enum(ROLES),
});

export const manifestSchema = z
  .strictObject({
    format: z.literal(FORMAT),
    /** Random id of this bundle, echoed in state.json and the report. */
    id: z.string().regex(/^[A-Za-z0-9-]{8,64}$/, "must be 8-64 letters, digits or '-'"),
    target: z.union([z.strictObject({ deviceId: id }), z.strictObject({ fleetId: id })]),
    /** Monotonic: a device accepts only a version above the highest it ever applied. */
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    createdAt: z.iso.datetime({ offset: true }),
    expiresAt: z.iso.datetime({ offset: true }),
    contents: z.array(contentSchema).max(10_000),
  })
  .check((ctx) => {
    const paths = new Set<string>();
    const roles = new Set<Role>();
    ctx.value.contents.forEach((c, i) => {
      const at = ["contents", i];
      if (paths.has(c.path))
        ctx.issues.push({ code: "custom", input: c.path, path: [...at, "path"], message: `duplicate "${c.path}"` });
      paths.add(c.path);
      if (SINGLE_ROLES.has(c.role) && roles.has(c.role))
        ctx.issues.push({ code: "custom", input: c.role, path: [...at, "role"], message: `second "${c.role}" file` });
      roles.add(c.role);
    });
    ctx.value.contents.forEach((c, i) => {
      const parts = c.path.split("/");
      for (let n = 1; n < parts.length; n++) {
        const dir = parts.slice(0, n).join("/");
        if (paths.has(dir))
          ctx.issues.push({
            code: "custom",
            input: c.path,
            path: ["contents", i, "path"],
            message: `"${c.path}" is below "${dir}", which is listed as a file`,
          });
      }
    });
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type ContentEntry = Manifest["contents"][number];
export type Target = Manifest["target"];

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(root)";
}

export function describeTarget(t: Target): string {
  return "deviceId" in t ? `device:${t.deviceId}` : `fleet:${t.fleetId}`;
}

/** "device:ID" or "fleet:ID" (the installer's spelling) to a manifest target. */
export function parseTarget(s: string): Target {
  const m = /^(device|fleet):(.+)$/.exec(s);
  if (!m || !idPattern.test(m[2])) throw new Error(`target "${s}": expected device:ID or fleet:ID`);
  return m[1] === "device" ? { deviceId: m[2] } : { fleetId: m[2] };
}
