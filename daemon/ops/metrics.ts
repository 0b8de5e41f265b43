// Prometheus text exposition plus a /health probe, on plain HTTP for the management network (loopback by default).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type MetricSample = {
  name: string;
  help: string;
  type: "gauge" | "counter";
  value: number;
  labels?: Record<string, string>;
};
export type MetricsSource = () => Promise<MetricSample[]> | MetricSample[];

export function renderMetrics(samples: MetricSample[]): string {
  const out: string[] = [];
  const described = new Set<string>();
  for (const s of samples) {
    if (!described.has(s.name)) {
      out.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
      described.add(s.name);
    }
    const labels = s.labels
      ? `{${Object.entries(s.labels)
          .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`)
          .join(",")}}`
      : "";
    out.push(`${s.name}${labels} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
  return `${out.join("\n")}\n`;
}

export async function startMetricsServer(
  address: string,
  port: number,
  sources: MetricsSource[],
  health: () => { ok: boolean; detail: Record<string, unknown> },
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== "GET") {
        res.writeHead(405, { allow: "GET" }).end();
      } else if (req.url === "/metrics") {
        const samples = (await Promise.all(sources.map((s) => s()))).flat();
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(renderMetrics(samples));
      } else if (req.url === "/health") {
        const h = health();
        res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(h));
      } else {
        res.writeHead(404).end();
      }
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`metrics error: ${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, resolve);
  });
  const a = server.address() as AddressInfo;
  return { server, url: `http://${a.address}:${a.port}` };
}

export function processMetrics(): MetricSample[] {
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  return [
    { name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", type: "gauge", value: m.rss },
    { name: "process_heap_bytes", help: "V8 heap used in bytes.", type: "gauge", value: m.heapUsed },
    {
      name: "process_cpu_seconds_total",
      help: "User and system CPU time spent in seconds.",
      type: "counter",
      value: (cpu.user + cpu.system) / 1e6,
    },
  ];
}
