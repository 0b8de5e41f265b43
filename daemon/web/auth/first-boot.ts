// No default credentials: while no user exists, the first login is user "admin" with a one-time secret. The secret
// comes from the provisioning bundle (<dataDir>/first-boot-secret, deleted once hashed) or is generated and shown on
// the console once. It becomes admin's password with must_change set, so it stops working the moment it is replaced;
// its hash stays in <dataDir>/web/first-boot.json so nobody can choose it as a password later.
import { randomInt } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashPassword, type ScryptCost, verifyPassword } from "./passwords.ts";
import type { Users } from "./users.ts";

export const firstBootUser = "admin";

interface FirstBootRecord {
  hash: string;
  source: "provisioning" | "generated";
  createdAt: number;
  /** When admin replaced it. */
  replacedAt?: number;
}

export interface FirstBootResult {
  /** Set only when a secret was generated: the caller shows it once on the console. */
  generated?: string;
  /** A secret is waiting to be used (this start or an earlier one). */
  pending: boolean;
  source?: FirstBootRecord["source"];
}

export class FirstBoot {
  private readonly provisionedFile: string;
  private readonly recordFile: string;

  constructor(
    dataDir: string,
    private readonly users: Users,
    private readonly now: () => number = Date.now,
    private readonly cost?: ScryptCost,
  ) {
    this.provisionedFile = join(dataDir, "first-boot-secret");
    this.recordFile = join(dataDir, "web", "first-boot.json");
  }

  /**
   * At start. No users: make "admin" with the provisioned or a generated secret. A provisioned file that appears while
   * the first-boot secret is still unused replaces it (the way back when the printed secret was lost).
   */
  async prepare(): Promise<FirstBootResult> {
    const record = this.record();
    const unused = record !== undefined && record.replacedAt === undefined;
    const admin = this.users.get(firstBootUser);
    const stillFirstBoot =
      this.users.count() === 0 || (unused && admin?.mustChange === true && this.users.count() === 1);
    if (!stillFirstBoot) {
      if (existsSync(this.provisionedFile)) unlinkSync(this.provisionedFile); // never leave a plain secret around
      return { pending: false };
    }
    const provisioned = this.readProvisioned();
    if (!provisioned && admin && unused) return { pending: true, source: record.source };
    const secret = provisioned ?? generateSecret();
    const hash = await hashPassword(secret, this.cost);
    const source = provisioned ? "provisioning" : "generated";
    this.write({ hash, source, createdAt: this.now() });
    if (admin) this.users.update(firstBootUser, { passwordHash: hash, mustChange: true, role: "admin" });
    else this.users.create({ name: firstBootUser, role: "admin", passwordHash: hash, mustChange: true });
    this.users.clearFailures(firstBootUser);
    if (provisioned) unlinkSync(this.provisionedFile);
    return { pending: true, source, ...(provisioned ? {} : { generated: secret }) };
  }

  /** True when `password` is the first-boot secret (which nobody may choose as a password). */
  async isSecret(password: string): Promise<boolean> {
    const r = this.record();
    return r ? verifyPassword(password, r.hash) : false;
  }

  /** Admin replaced the secret. */
  replaced(): void {
    const r = this.record();
    if (r && r.replacedAt === undefined) this.write({ ...r, replacedAt: this.now() });
  }

  private readProvisioned(): string | undefined {
    if (!existsSync(this.provisionedFile)) return undefined;
    const s = readFileSync(this.provisionedFile, "utf8").trim();
    if (!s) throw new Error(`${this.provisionedFile}: empty first-boot secret`);
    return s;
  }

  private record(): FirstBootRecord | undefined {
    if (!existsSync(this.recordFile)) return undefined;
    try {
      const r = JSON.parse(readFileSync(this.recordFile, "utf8")) as FirstBootRecord;
      return typeof r.hash === "string" ? r : undefined;
    } catch {
      return undefined;
    }
  }

  private write(r: FirstBootRecord): void {
    const dir = join(this.recordFile, "..");
    mkdirSync(dir, { recursive: true });
    const tmp = `${this.recordFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.recordFile);
  }
}

/** 20 characters without look-alikes (no 0/O, 1/l/I), in groups of 5: about 99 bits. */
export function generateSecret(): string {
  const alphabet = "23456789abcdefghjkmnpqrstuvwxyz";
  const chars = Array.from({ length: 20 }, () => alphabet[randomInt(alphabet.length)]);
  return [0, 5, 10, 15].map((i) => chars.slice(i, i + 5).join("")).join("-");
}
