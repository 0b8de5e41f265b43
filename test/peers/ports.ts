// Free ports for tests and benches. Test files run in parallel (test/run.mjs uses concurrency 2), so a port that was
// free a moment ago can be taken by a sibling: single ports are probed on UDP and TCP together, and RTP ranges are
// additionally reserved with a lock file per 200-port block so two processes never hand out the same block.
import { createSocket } from "node:dgram";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HOST = "127.0.0.1";

function probeUdp(port: number, host = HOST): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, host, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function probeTcp(port: number, host = HOST): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(undefined));
    s.listen(port, host, () => {
      const addr = s.address();
      const p = typeof addr === "object" && addr ? addr.port : undefined;
      s.close(() => resolve(p));
    });
  });
}

/** A port that is free on both UDP and TCP right now (SIP peers listen on both). */
export async function freePort(host = HOST): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await probeTcp(0, host);
    if (p !== undefined && (await probeUdp(p, host)) === p) return p;
  }
  throw new Error("no free port found after 50 attempts");
}

export interface PortRange {
  min: number;
  max: number;
  release(): void;
}

const lockDir = join(tmpdir(), "switchboard-test-ports");
const BLOCK = 200;
const FIRST_BLOCK = 100; // 20000..
const LAST_BLOCK = 162; // ..32599: stays below the Linux ephemeral range (32768+) that port 0 binds draw from

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tryLock(block: number): string | undefined {
  mkdirSync(lockDir, { recursive: true });
  const file = join(lockDir, `${block}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return file;
    } catch {
      // Stale lock from a crashed run: take it over.
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(file, "utf8"));
      } catch {}
      if (Number.isFinite(owner) && pidAlive(owner)) return undefined;
      rmSync(file, { force: true });
    }
  }
  return undefined;
}

const held = new Set<string>();
process.once("exit", () => {
  for (const f of held) rmSync(f, { force: true });
});

/**
 * `count` consecutive UDP ports (even start, for RTP/RTCP pairs) that are free and reserved for this process.
 * Large ranges (benches with hundreds of calls) lock several consecutive blocks.
 */
export async function freePortRange(count = BLOCK, host = HOST): Promise<PortRange> {
  const blocks = Math.ceil(count / BLOCK);
  if (blocks > LAST_BLOCK - FIRST_BLOCK + 1) throw new Error(`at most ${(LAST_BLOCK - FIRST_BLOCK + 1) * BLOCK} ports`);
  for (let attempt = 0; attempt < 40; attempt++) {
    const first = FIRST_BLOCK + Math.floor(Math.random() * (LAST_BLOCK - FIRST_BLOCK + 2 - blocks));
    const locks: string[] = [];
    for (let b = first; b < first + blocks; b++) {
      const lock = tryLock(b);
      if (!lock) break;
      locks.push(lock);
    }
    const unlock = () => {
      for (const l of locks) rmSync(l, { force: true });
    };
    if (locks.length < blocks) {
      unlock();
      continue;
    }
    const min = first * BLOCK;
    const max = min + count - 1;
    let free = true;
    // Probe every port: the daemon may take any of them.
    for (let p = min; p <= max && free; p++) free = (await probeUdp(p, host)) === p;
    if (!free) {
      unlock();
      continue;
    }
    for (const l of locks) held.add(l);
    return {
      min,
      max,
      release() {
        for (const l of locks) held.delete(l);
        unlock();
      },
    };
  }
  throw new Error("no free RTP port range found");
}
