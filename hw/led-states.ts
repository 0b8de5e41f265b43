// What the LEDs show for the daemon's state: a pure function over a snapshot, each LED a first-match-wins priority
// list (the table in docs/hw-protocol.md). A controller with fewer LEDs gets the most urgent rows of all of them.
import type { LedColour, LedPattern } from "./protocol.ts";

export interface ApplianceState {
  booting: boolean;
  provisioning: "idle" | "running" | "ok" | "failed";
  updating: boolean;
  /** "none" when no trunk is configured. */
  trunk: "none" | "registering" | "registered" | "failing";
  activeCalls: number;
  /** Calls waiting for a human (queue or transfer). */
  humanNeeded: number;
  callbacksPending: number;
  healthWarning: boolean;
}

export interface LedCommand {
  index: number;
  colour: LedColour;
  pattern: LedPattern;
  /** Which row of the table chose it (for logs and the web page). */
  reason: string;
}

interface Row {
  reason: string;
  /** Lower is more urgent; used when rows of several LEDs share one LED. */
  urgency: number;
  when: (s: ApplianceState) => boolean;
  colour: LedColour;
  pattern: LedPattern;
}

export const LED_SYSTEM = 0;
export const LED_LINE = 1;
export const LED_ATTENTION = 2;

/** Per LED, first match wins. The last row of each LED always matches. */
export const LED_TABLE: Row[][] = [
  [
    { reason: "update in progress", urgency: 1, when: (s) => s.updating, colour: "blue", pattern: "pulse" },
    {
      reason: "provisioning failed",
      urgency: 2,
      when: (s) => s.provisioning === "failed",
      colour: "red",
      pattern: "blink-fast",
    },
    {
      reason: "provisioning in progress",
      urgency: 3,
      when: (s) => s.provisioning === "running",
      colour: "blue",
      pattern: "blink-fast",
    },
    { reason: "booting", urgency: 4, when: (s) => s.booting, colour: "amber", pattern: "blink-slow" },
    { reason: "health warning", urgency: 6, when: (s) => s.healthWarning, colour: "amber", pattern: "on" },
    {
      reason: "provisioning ok",
      urgency: 8,
      when: (s) => s.provisioning === "ok",
      colour: "green",
      pattern: "blink-slow",
    },
    { reason: "running", urgency: 20, when: () => true, colour: "green", pattern: "on" },
  ],
  [
    { reason: "trunk failing", urgency: 5, when: (s) => s.trunk === "failing", colour: "red", pattern: "blink-slow" },
    { reason: "calls active", urgency: 9, when: (s) => s.activeCalls > 0, colour: "green", pattern: "pulse" },
    {
      reason: "trunk registering",
      urgency: 11,
      when: (s) => s.trunk === "registering",
      colour: "amber",
      pattern: "blink-slow",
    },
    { reason: "trunk registered", urgency: 12, when: (s) => s.trunk === "registered", colour: "green", pattern: "on" },
    { reason: "no trunk", urgency: 21, when: () => true, colour: "white", pattern: "off" },
  ],
  [
    { reason: "human needed", urgency: 0, when: (s) => s.humanNeeded > 0, colour: "red", pattern: "blink-fast" },
    {
      reason: "callback pending",
      urgency: 7,
      when: (s) => s.callbacksPending > 0,
      colour: "amber",
      pattern: "blink-slow",
    },
    { reason: "nothing waiting", urgency: 22, when: () => true, colour: "white", pattern: "off" },
  ],
];

/** The LED commands for a state on a controller with `ledCount` LEDs (0 gives none). */
export function ledPlan(state: ApplianceState, ledCount = 3): LedCommand[] {
  const chosen = LED_TABLE.map((rows) => rows.find((r) => r.when(state))!);
  if (ledCount >= chosen.length) {
    return chosen.map((r, index) => ({ index, colour: r.colour, pattern: r.pattern, reason: r.reason }));
  }
  // Fewer LEDs than areas: the most urgent current rows, one per LED.
  return [...chosen]
    .sort((a, b) => a.urgency - b.urgency)
    .slice(0, Math.max(0, ledCount))
    .map((r, index) => ({ index, colour: r.colour, pattern: r.pattern, reason: r.reason }));
}

/** The commands that differ between two plans (what to send after a state change). */
export function ledChanges(before: LedCommand[], after: LedCommand[]): LedCommand[] {
  return after.filter((c) => {
    const b = before.find((x) => x.index === c.index);
    return !b || b.colour !== c.colour || b.pattern !== c.pattern;
  });
}
