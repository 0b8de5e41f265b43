// Worker thread entry of OffThreadProbe: each message is a data directory, each answer its HealthSample.
import { parentPort } from "node:worker_threads";
import { systemProbe } from "./system-probe.ts";

parentPort?.on("message", (dataDir: string) => {
  void systemProbe(dataDir).then(
    (s) => parentPort?.postMessage(s),
    (e: Error) => parentPort?.postMessage({ failures: [`health probe: ${e.message}`] }),
  );
});
