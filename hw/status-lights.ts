// The box's state on the controller's LEDs: whenever a part of the daemon reports a change, the snapshot is rebuilt
// and only the LEDs whose command changed are sent. A controller that is away keeps the last plan (the driver replays
// it on reconnect), so nothing here waits for the hardware.
import type { ApplianceState, LedCommand } from "./led-states.ts";
import { ledChanges, ledPlan } from "./led-states.ts";

export interface LedSink {
  readonly device: { caps: { leds: number } } | undefined;
  setLed(index: number, colour: LedCommand["colour"], pattern: LedCommand["pattern"]): Promise<void>;
}

/** Appliance state from what the daemon knows: trunk registrations, calls, queues, health. */
export function applianceState(parts: {
  trunks: readonly { state: string }[];
  activeCalls: number;
  queues: readonly { waiting: readonly { callback: boolean }[] }[];
  healthWarnings: number;
  booting?: boolean;
  provisioning?: ApplianceState["provisioning"];
  updating?: boolean;
}): ApplianceState {
  const registering = parts.trunks.filter((t) => t.state !== "static");
  const waiting = parts.queues.flatMap((q) => q.waiting);
  return {
    booting: parts.booting ?? false,
    provisioning: parts.provisioning ?? "idle",
    updating: parts.updating ?? false,
    trunk:
      registering.length === 0
        ? "none"
        : registering.some((t) => t.state === "failed")
          ? "failing"
          : registering.every((t) => t.state === "registered")
            ? "registered"
            : "registering",
    activeCalls: parts.activeCalls,
    humanNeeded: waiting.filter((w) => !w.callback).length,
    callbacksPending: waiting.filter((w) => w.callback).length,
    healthWarning: parts.healthWarnings > 0,
  };
}

export class StatusLights {
  private shown: LedCommand[] = [];

  constructor(
    private readonly leds: LedSink,
    private readonly snapshot: () => ApplianceState,
    private readonly onError: (e: Error) => void = () => {},
  ) {}

  /** Rebuild the plan and send what changed. */
  update(): LedCommand[] {
    const plan = ledPlan(this.snapshot(), this.leds.device?.caps.leds ?? 3);
    const changes = ledChanges(this.shown, plan);
    this.shown = plan;
    for (const c of changes) this.leds.setLed(c.index, c.colour, c.pattern).catch((e: Error) => this.onError(e));
    return changes;
  }
}
