// What makes the daemon an appliance, started once SIP runs: the controller's LEDs following the box's state, USB
// provisioning (a stick's signed bundle replaces the config and reloads), and the config-only sync with the master
// server. Each part is optional and none may hold up calls: a missing controller, stick or master is just absent.
import { readFileSync } from "node:fs";
import type { SerialController } from "../hw/controller.ts";
import type { ApplianceState } from "../hw/led-states.ts";
import type { ModelStore } from "../models/store.ts";
import { applianceState, StatusLights } from "../hw/status-lights.ts";
import { installedFiles } from "../provisioning/apply.ts";
import { healthSummary, MasterSync } from "../provisioning/master-sync.ts";
import { UsbProvisioner } from "../provisioning/usb-provisioner.ts";
import type { CallRegistry } from "./calls/call-registry.ts";
import type { QueueDesk } from "./calls/queue-desk.ts";
import { writeFileAtomic } from "./config/atomic-write.ts";
import { parseConfig } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import type { HealthMonitor } from "./ops/health.ts";
import type { Log } from "./ops/log.ts";
import type { TrunkStates } from "./sip/trunk-states.ts";

export interface ApplianceParts {
  config: Config;
  dataDir: string;
  /** The daemon's config file; without one nothing can replace it (no provisioning, no master sync). */
  configFile?: string;
  controller?: SerialController;
  registry: CallRegistry;
  queues: QueueDesk;
  trunks: TrunkStates;
  health: HealthMonitor;
  reload(next: Config): { version: string; restartNeeded: string[] };
  /** The daemon's model store: USB provisioning installs a bundle's model bundles into it. */
  models?: ModelStore;
  softwareVersion: string;
  log: Log;
}

export async function startApplianceShell(p: ApplianceParts): Promise<{ stop(): Promise<void> }> {
  let provisioning: ApplianceState["provisioning"] = "idle";
  const stops: (() => Promise<void> | void)[] = [];
  const lights = p.controller ? startLights(p.controller, p, () => provisioning) : undefined;
  if (lights) stops.push(() => lights.stop());

  const file = p.configFile;
  if (p.config.provisioning?.enabled && file) {
    const provisioner = new UsbProvisioner({
      dataDir: p.dataDir,
      configFile: file,
      settings: p.config.provisioning,
      reload: () => p.reload(parseConfig(readFileSync(file, "utf8"), file)),
      log: p.log.child({ part: "provisioning" }),
      models: p.models,
    });
    provisioner.on("state", (e) => {
      if (e.state !== provisioning) {
        provisioning = e.state;
        lights?.update();
      }
      if (e.state !== "running")
        p.log.info(
          { bundle: e.bundle, state: e.state, reason: e.reason, restartNeeded: e.restartNeeded },
          "provisioning",
        );
    });
    await provisioner.start();
    stops.push(() => provisioner.stop());
  }

  if (p.config.master.enabled && file && installedFiles(p.dataDir).some((f) => f.role === "master")) {
    const sync = new MasterSync({
      dataDir: p.dataDir,
      settings: p.config.master,
      softwareVersion: p.softwareVersion,
      log: p.log.child({ part: "master" }),
      health: async () => healthSummary(p.health.current ?? { warnings: [] }),
      // The same path as an edit on the web page: validated, written atomically, reloaded; put back if refused.
      apply: async (text) => {
        const next = parseConfig(text, file);
        const before = readFileSync(file, "utf8");
        writeFileAtomic(file, text);
        try {
          p.reload(next);
        } catch (e) {
          writeFileAtomic(file, before);
          throw e;
        }
      },
    });
    sync.start();
    stops.push(() => sync.stop());
  }

  return {
    async stop() {
      for (const s of stops.reverse()) await s();
    },
  };
}

/**
 * The controller's LEDs follow trunk registrations, calls, queues, health and provisioning. The driver reconnects and
 * replays the LEDs by itself, so a missing or unplugged controller never holds up the daemon.
 */
function startLights(
  controller: SerialController,
  p: ApplianceParts,
  provisioning: () => ApplianceState["provisioning"],
): { update(): void; stop(): Promise<void> } {
  const log = p.log.child({ part: "hw" });
  const lights = new StatusLights(
    controller,
    () =>
      applianceState({
        trunks: p.trunks.list(),
        activeCalls: p.registry.size,
        queues: p.queues.snapshot(),
        healthWarnings: p.health.current?.warnings.length ?? 0,
        provisioning: provisioning(),
      }),
    (e) => log.debug({ err: e.message }, "LED command not delivered yet"),
  );
  const update = () => void lights.update();
  p.registry.on("call", update);
  const offQueues = p.queues.onChange(update);
  p.trunks.on("trunk", update);
  p.health.on("health", update);
  controller.on("state", (state, reason) => log.info({ state, reason }, "controller"));
  controller.on("device", update);
  controller.start();
  update();
  return {
    update,
    async stop() {
      p.registry.off("call", update);
      offQueues();
      p.trunks.off("trunk", update);
      p.health.off("health", update);
      await controller.stop();
    },
  };
}
