// RFC 3263 server location for trunk hosts: an IP literal is used as is; a name with an explicit port skips SRV
// (4.2) and goes to A/AAAA; otherwise SRV _sip._udp / _sip._tcp / _sips._tcp, ordered by priority and weight
// (RFC 2782), each target resolved to addresses, falling back to A/AAAA of the name on port 5060/5061.
// NAPTR is not consulted: the transport comes from the URI or the trunk configuration. Targets found from a name
// carry that name (`serverName`): a TLS server's certificate must match the domain asked for, never the SRV
// target (RFC 5922 4.1).
import { promises as dnsp } from "node:dns";
import { isIP } from "node:net";
import type { TransportName } from "../config/schema.ts";

export interface SrvAnswer {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/** The DNS operations we need; node:dns/promises by default, injected in tests. */
export interface DnsResolver {
  resolveSrv(name: string): Promise<SrvAnswer[]>;
  /** IPv4 then IPv6 addresses of a host name. */
  resolveAddresses(name: string): Promise<string[]>;
}

export const systemResolver: DnsResolver = {
  resolveSrv: (name) => dnsp.resolveSrv(name),
  async resolveAddresses(name) {
    const v4 = await dnsp.resolve4(name).catch(() => [] as string[]);
    if (v4.length > 0) return v4;
    const v6 = await dnsp.resolve6(name).catch(() => [] as string[]);
    if (v6.length > 0) return v6;
    // /etc/hosts names (localhost, appliance-local names) only come through getaddrinfo.
    const all = await dnsp.lookup(name, { all: true }).catch(() => []);
    return all.map((a) => a.address);
  },
};

export interface Target {
  transport: TransportName;
  address: string;
  port: number;
  /** The host name this target was resolved from; unset for IP literals. */
  serverName?: string;
}

export function defaultPort(t: TransportName): number {
  return t === "tls" ? 5061 : 5060;
}

/** Strip IPv6 brackets. */
export function bareHost(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Order SRV answers: ascending priority, weighted random within a priority (RFC 2782). */
export function orderSrv(answers: SrvAnswer[], random: () => number = Math.random): SrvAnswer[] {
  const byPrio = new Map<number, SrvAnswer[]>();
  for (const a of answers) byPrio.set(a.priority, [...(byPrio.get(a.priority) ?? []), a]);
  const out: SrvAnswer[] = [];
  for (const prio of [...byPrio.keys()].sort((a, b) => a - b)) {
    // Zero-weight entries first so they get a small chance, as the RFC describes.
    const pool = [...(byPrio.get(prio) ?? [])].sort((a, b) => a.weight - b.weight);
    while (pool.length > 0) {
      const total = pool.reduce((s, a) => s + a.weight, 0);
      let pick = 0;
      if (total > 0) {
        const r = random() * total;
        let acc = 0;
        pick = pool.findIndex((a) => {
          acc += a.weight;
          return acc > r;
        });
        if (pick < 0) pick = pool.length - 1;
      }
      out.push(pool[pick]);
      pool.splice(pick, 1);
    }
  }
  return out;
}

export class SipResolver {
  private cache = new Map<string, { at: number; targets: Target[] }>();

  constructor(
    private dns: DnsResolver = systemResolver,
    private ttlMs = 60_000,
    private now: () => number = Date.now,
  ) {}

  /** All candidate targets for host[:port] over `transport`, best first. Throws when nothing resolves. */
  async resolve(host: string, port: number | undefined, transport: TransportName): Promise<Target[]> {
    const h = bareHost(host).toLowerCase();
    if (isIP(h)) return [{ transport, address: h, port: port ?? defaultPort(transport) }];
    const key = `${transport}|${h}|${port ?? ""}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.targets;
    const targets = (await this.lookup(h, port, transport)).map((t) => ({ ...t, serverName: h }));
    if (targets.length === 0) throw new Error(`cannot resolve ${host}`);
    this.cache.set(key, { at: this.now(), targets });
    return targets;
  }

  private async lookup(host: string, port: number | undefined, transport: TransportName): Promise<Target[]> {
    if (port === undefined) {
      const service = transport === "tls" ? `_sips._tcp.${host}` : `_sip._${transport}.${host}`;
      const srv = await this.dns.resolveSrv(service).catch(() => [] as SrvAnswer[]);
      // A single "." target means the service is explicitly not offered (RFC 2782).
      const usable = srv.filter((s) => s.name !== "" && s.name !== ".");
      if (usable.length > 0) {
        const out: Target[] = [];
        for (const s of orderSrv(usable)) {
          const addrs = isIP(s.name) ? [s.name] : await this.dns.resolveAddresses(s.name).catch(() => [] as string[]);
          for (const a of addrs) out.push({ transport, address: a, port: s.port });
        }
        if (out.length > 0) return out;
      }
    }
    const addrs = await this.dns.resolveAddresses(host).catch(() => [] as string[]);
    return addrs.map((a) => ({ transport, address: a, port: port ?? defaultPort(transport) }));
  }
}
