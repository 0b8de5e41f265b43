// `switchboard simulate`: one call without audio. The script plays the caller (text, keys, silence, hang-up) and
// decides what the outside world does (actions succeed or fail, humans answer or not); the real interpreter runs
// the configured agents against it. Prints the transcript and a JSON outcome; expectations make it a test.
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { z } from "zod";
import type { CallerInput, CallerIo } from "../calls/caller-io.ts";
import type { Config } from "../config/schema.ts";
import { formatTranscript } from "../nlu/summary.ts";
import { newContext, type CallContext } from "./call-context.ts";
import { type ConnectResult, FlowRun, type FlowServices, type QueueWait } from "./interpreter.ts";
import type { QueueConfig } from "./queues.ts";
import { compileAgents, entryAgent } from "./routing.ts";

const callerStep = z.union([
  z.object({ say: z.string().min(1) }).strict(),
  z.object({ dtmf: z.string().regex(/^[0-9*#]+$/, "keys 0-9 * #") }).strict(),
  z.object({ silence: z.literal(true) }).strict(),
  z.object({ hangup: z.literal(true) }).strict(),
]);

export const scriptSchema = z
  .object({
    name: z.string().optional(),
    call: z
      .object({
        from: z.string().default("+4930111222"),
        did: z.string().default(""),
        /** ISO time of the call (with offset); picks the time window. */
        at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "an ISO date-time"),
      })
      .strict(),
    /** What each action's first delivery does in this run. */
    actions: z.record(z.string(), z.enum(["delivered", "failed", "pending"])).default({}),
    /** Whether the human (or queue) answers a transfer. */
    humans: z.enum(["answer", "noanswer", "failed"]).default("answer"),
    /** A customer queue: the caller's place on entry and when a member answers (never: maxWaitS runs out). */
    queue: z
      .object({
        position: z.number().int().min(1).default(1),
        answerAfterS: z.number().min(0).optional(),
      })
      .strict()
      .default({ position: 1 }),
    caller: z.array(callerStep).default([]),
    expect: z
      .object({
        window: z.string().optional(),
        agent: z.string().optional(),
        agents: z.array(z.string()).optional(),
        intent: z.string().optional(),
        slots: z.record(z.string(), z.string()).optional(),
        actions: z.record(z.string(), z.enum(["delivered", "failed", "pending"])).optional(),
        transferred: z.union([z.boolean(), z.string()]).optional(),
        escalation: z.union([z.boolean(), z.string()]).optional(),
        outcome: z.enum(["completed", "transferred", "voicemail", "callback", "abandoned", "hangup"]).optional(),
        consent: z.boolean().optional(),
        /** Substrings the box must have said, in any order. */
        said: z.array(z.string()).optional(),
        /** Substrings the box must never have said (e.g. "done" after a failed action). */
        notSaid: z.array(z.string()).optional(),
        /** Nodes that must have run, as recorded in the context: "agent/type/id" ("#index" for nodes without id). */
        nodes: z.array(z.string()).optional(),
        /** Substrings of the call record's event lines (time window reason, escalation, captures), in any order. */
        events: z.array(z.string()).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type SimScript = z.infer<typeof scriptSchema>;

export interface SimResult {
  ctx: CallContext;
  failures: string[];
  transcript: string;
}

export function loadScript(file: string): SimScript {
  const doc = parseDocument(readFileSync(file, "utf8"));
  if (doc.errors.length) throw new Error(`${file}: YAML syntax: ${doc.errors[0]?.message.split("\n")[0]}`);
  const r = scriptSchema.safeParse(doc.toJS());
  if (!r.success)
    throw new Error(
      `${file}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

export async function simulate(config: Config, script: SimScript): Promise<SimResult> {
  const start = new Date(script.call.at);
  let elapsed = 0;
  const now = () => new Date(start.getTime() + elapsed);
  const agents = compileAgents(config);
  const entry = entryAgent(config, script.call.did, start);
  const agent = agents.get(entry.agent);
  if (!agent) throw new Error(`time window "${entry.window}" names agent "${entry.agent}", which does not exist`);
  const ctx = newContext({
    callId: "sim-1",
    caller: script.call.from,
    did: script.call.did,
    language: agent.language,
    agent: agent.config.id,
    now: start.getTime(),
  });
  ctx.window = { id: entry.window, reason: entry.reason };
  ctx.events.push(`time window ${entry.reason}`);
  const inputs = script.caller.flatMap((s): (CallerInput | "timeout" | "hangup")[] => {
    if ("say" in s) return [{ kind: "speech", text: s.say, startMs: 0, endMs: 1000 }];
    if ("dtmf" in s) return [...s.dtmf].map((d) => ({ kind: "digit", digit: d }) as CallerInput);
    if ("silence" in s) return ["timeout"];
    return ["hangup"];
  });
  let over = false;
  let held: SimQueue | undefined;
  let language = agent.language;
  const io: CallerIo = {
    get language() {
      return language;
    },
    speakAs(next) {
      language = next;
    },
    speaks: true,
    understands: true,
    async say(p) {
      elapsed += 300 + 60 * p.text.length; // a spoken sentence takes time; transcript timestamps should look real
    },
    async next(timeoutMs) {
      if (over) return undefined;
      // On hold the queue's own events (a member answers, the wait runs out) happen unless the caller acts first;
      // a caller with nothing more to do keeps holding instead of hanging up.
      if (held && !held.settled && (inputs[0] === undefined || inputs[0] === "timeout")) {
        const due = Math.min(held.answerAt, held.timeoutAt);
        if (due <= elapsed + timeoutMs) {
          elapsed = Math.max(elapsed, due);
          await held.fire(due === held.answerAt ? "connected" : "timeout");
          if (inputs[0] === "timeout") inputs.shift();
          return "timeout";
        }
        if (inputs[0] === undefined) {
          elapsed += timeoutMs;
          return "timeout";
        }
      }
      const i = inputs.shift();
      if (i === undefined || i === "hangup") {
        over = true;
        return undefined;
      }
      // Keys typed in a row belong together; anything else is a new turn after a pause.
      elapsed += i === "timeout" ? timeoutMs : i.kind === "digit" ? 300 : 2500;
      return i;
    },
    get pending() {
      return 0;
    },
    settleBargeIn: async () => false,
    setEndpointMode() {},
    hold() {},
    close() {},
  };
  const services: FlowServices = {
    now,
    timeZone: config.routing?.timeZone ?? "Europe/Berlin",
    agent: (id) => agents.get(id),
    async action(id) {
      return script.actions[id] ?? "delivered";
    },
    async connect(): Promise<ConnectResult> {
      return script.humans === "answer" ? "connected" : script.humans;
    },
    queue(id, _whisper, beforeBridge) {
      const cfg = config.queues.find((q) => q.id === id);
      if (!cfg || script.queue.position > cfg.maxWaiting) return undefined;
      held = simQueue(cfg, script, elapsed, () => elapsed, beforeBridge);
      return held.wait;
    },
    async voicemail(maxS) {
      const d = Math.min(maxS, 12) * 1000;
      elapsed += d;
      return { durationMs: d };
    },
    record() {},
    recordingEnabled: config.recording.calls,
  };
  await new FlowRun(io, services, ctx, agent).run();
  return { ctx, failures: check(script, ctx), transcript: formatTranscript(ctx.transcript) };
}

interface SimQueue {
  wait: QueueWait;
  answerAt: number;
  timeoutAt: number;
  settled: boolean;
  fire(o: "connected" | "timeout"): Promise<void>;
}

/** A queue in virtual time: the place shrinks evenly until a member answers at answerAfterS (with `humans: answer`). */
function simQueue(
  cfg: QueueConfig,
  script: SimScript,
  joinedAt: number,
  elapsed: () => number,
  beforeBridge: () => Promise<void>,
): SimQueue {
  let settle!: (o: "connected" | "timeout" | "left" | "callback") => void;
  const done = new Promise<"connected" | "timeout" | "left" | "callback">((r) => {
    settle = r;
  });
  const answers = script.humans === "answer" && script.queue.answerAfterS !== undefined;
  const q: SimQueue = {
    answerAt: answers ? joinedAt + (script.queue.answerAfterS ?? 0) * 1000 : Number.POSITIVE_INFINITY,
    timeoutAt: joinedAt + cfg.maxWaitS * 1000,
    settled: false,
    async fire(o) {
      q.settled = true;
      if (o === "connected") await beforeBridge();
      settle(o);
    },
    wait: {
      config: cfg,
      position: () => {
        const p = script.queue.position;
        if (!Number.isFinite(q.answerAt)) return p;
        const left = (q.answerAt - elapsed()) / Math.max(1, q.answerAt - joinedAt);
        return Math.max(1, Math.ceil(p * left));
      },
      done,
      leave() {
        q.settled = true;
        settle("left");
      },
      callback() {
        q.settled = true;
        settle("callback");
      },
    },
  };
  return q;
}

function check(script: SimScript, ctx: CallContext): string[] {
  const e = script.expect;
  const out: string[] = [];
  const eq = (what: string, want: unknown, got: unknown) => {
    if (want !== undefined && want !== got)
      out.push(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  };
  eq("window", e.window, ctx.window?.id);
  eq("agent", e.agent, ctx.agent);
  if (e.agents && e.agents.join(",") !== ctx.agents.join(","))
    out.push(`agents: expected ${e.agents.join(" -> ")}, got ${ctx.agents.join(" -> ")}`);
  eq("intent", e.intent, ctx.intent);
  for (const [k, v] of Object.entries(e.slots ?? {})) eq(`slot ${k}`, v, ctx.vars[k]);
  for (const [k, v] of Object.entries(e.actions ?? {}))
    eq(`action ${k}`, v, ctx.actions.find((a) => a.action === k)?.state);
  if (typeof e.transferred === "boolean") eq("transferred", e.transferred, ctx.transferred !== undefined);
  else eq("transferred", e.transferred, ctx.transferred);
  if (typeof e.escalation === "boolean") eq("escalation", e.escalation, ctx.escalation !== undefined);
  else if (e.escalation !== undefined && !ctx.escalation?.includes(e.escalation))
    out.push(`escalation: expected "${e.escalation}", got ${JSON.stringify(ctx.escalation)}`);
  eq("outcome", e.outcome, ctx.outcome);
  eq("recording consent", e.consent, ctx.consent?.recording);
  const said = ctx.transcript.filter((t) => t.speaker === "agent").map((t) => t.text.toLowerCase());
  for (const s of e.said ?? [])
    if (!said.some((x) => x.includes(s.toLowerCase()))) out.push(`said: the box never said "${s}"`);
  for (const s of e.notSaid ?? [])
    if (said.some((x) => x.includes(s.toLowerCase()))) out.push(`notSaid: the box said "${s}"`);
  for (const n of e.nodes ?? []) if (!ctx.nodes.includes(n)) out.push(`nodes: "${n}" never ran`);
  for (const s of e.events ?? [])
    if (!ctx.events.some((x) => x.includes(s))) out.push(`events: no event line contains "${s}"`);
  return out;
}
