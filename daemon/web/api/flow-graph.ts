// The flow of an agent as a graph for the web page's read-only view: the flow the daemon really runs (the agent's own,
// or the one its template builds, via agentFlow), with an edge for every way a node can go on. And a check of an
// agent draft against the whole config, with problems at node paths ("agents[2].flow[3].to").
import { z } from "zod";
import { planEdit, readConfigFile } from "../../config/config-file.ts";
import { getIn } from "../../config/config-path.ts";
import { InvalidConfigError } from "../../config/edit-errors.ts";
import type { Config } from "../../config/schema.ts";
import { type AgentConfig, agentFlow, agentSchema } from "../../flow/agents.ts";
import type { Flow, FlowNode, TransferTarget } from "../../flow/nodes.ts";
import { HttpError, type Route, route } from "../route.ts";
import { configHttpError } from "./config.ts";

export interface FlowGraphDeps {
  configFile: string;
  current(): Config;
}

export interface GraphNode {
  /** The node's id, or "#<index>" like the call record names unnamed nodes; pseudo nodes start with "$". */
  id: string;
  /** A flow node type, or for pseudo nodes: "target" (where a transfer goes), "fallback", "end", "missing". */
  type: string;
  label: string;
  /** Position in the flow (flow nodes only). */
  index?: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  label?: string;
}

export interface FlowGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const graphSchema = z.object({
  nodes: z.array(z.object({ id: z.string(), type: z.string(), label: z.string(), index: z.number().optional() })),
  edges: z.array(z.object({ from: z.string(), to: z.string(), label: z.string().optional() })),
});

const short = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function targetLabel(t: TransferTarget): string {
  if ("agent" in t) return `agent ${t.agent}`;
  if ("queue" in t) return `queue ${t.queue}`;
  if ("number" in t) return `number ${t.number}${t.trunk ? ` via ${t.trunk}` : ""}`;
  if ("browser" in t) return t.browser === "*" ? "any staff browser" : `browser ${t.browser}`;
  if ("handset" in t) return "the handset";
  return t.sip;
}

function nodeLabel(n: FlowNode): string {
  switch (n.type) {
    case "say":
      return short(n.text);
    case "play":
      return n.file;
    case "gather":
      return short(`${n.expect} -> ${n.into}: ${n.prompt}`);
    case "menu":
    case "confirm":
      return short(n.prompt);
    case "intent":
      return short(n.prompt ?? "classify the caller's last words");
    case "capture":
      return short(`${n.slot} (${n.spec.type}): ${n.prompt}`);
    case "condition":
      return `${n.var} ${n.op}${n.value === undefined ? "" : ` ${Array.isArray(n.value) ? n.value.join(", ") : n.value}`}`;
    case "set":
      return `${n.var} = ${n.value}`;
    case "action":
      return n.action;
    case "transfer":
      return `${n.mode} to ${targetLabel(n.to)}`;
    case "voicemail":
      return short(n.prompt ?? "take a message");
    case "callback":
      return "call back";
    case "offer":
      return "offer a message or a call back";
    case "hangup":
      return short(n.text ?? "hang up");
  }
}

/** Nodes that end the agent's part of the call whatever comes after them. */
const terminal = new Set<FlowNode["type"]>(["voicemail", "callback", "offer", "hangup"]);

/** The graph of a flow: nodes in flow order, then the pseudo nodes its edges need. */
export function flowGraph(flow: Flow): FlowGraph {
  const ids = flow.map((n, i) => n.id ?? `#${i}`);
  const known = new Set(ids);
  const nodes: GraphNode[] = flow.map((n, i) => ({ id: ids[i]!, type: n.type, label: nodeLabel(n), index: i }));
  const extra = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const pseudo = (id: string, type: string, label: string) => {
    if (!extra.has(id)) extra.set(id, { id, type, label });
    return id;
  };
  const jump = (id: string) => (known.has(id) ? id : pseudo(`$missing:${id}`, "missing", `no node "${id}"`));
  const edge = (from: string, to: string, label?: string) => edges.push({ from, to, ...(label && { label }) });
  flow.forEach((n, i) => {
    const from = ids[i]!;
    // Where the node goes when its outcome names no target: `next`, else the node after it, else the flow ends.
    const onward = () => (n.next ? jump(n.next) : (ids[i + 1] ?? pseudo("$end", "end", "end of the flow")));
    const orOnward = (target: string | undefined) => (target ? jump(target) : onward());
    switch (n.type) {
      case "say":
      case "play":
      case "set":
        edge(from, onward());
        break;
      case "gather":
      case "capture":
        edge(from, onward(), n.type === "gather" ? "answered" : "captured");
        edge(from, orOnward(n.onFail), "failed");
        break;
      case "menu":
        n.options.forEach((o) => {
          const what = [o.key && `key ${o.key}`, o.label, ...(o.words ?? []), ...(o.phrases ?? []), o.intent];
          edge(from, jump(o.goto), what.filter(Boolean).join(" / ") || undefined);
        });
        edge(from, orOnward(n.onFail), "no match");
        break;
      case "intent":
        for (const r of n.routes) edge(from, jump(r.goto), r.intent);
        edge(from, orOnward(n.onNoMatch), "no match");
        break;
      case "confirm":
        edge(from, onward(), "yes");
        edge(from, jump(n.onNo), "no");
        break;
      case "condition":
        edge(from, jump(n.goto), "true");
        edge(from, orOnward(n.else), "false");
        break;
      case "action":
        edge(from, onward(), n.onFail ? "done or pending" : undefined);
        if (n.onFail) edge(from, jump(n.onFail), "failed");
        break;
      case "transfer": {
        const target = pseudo(`$target:${targetLabel(n.to)}`, "target", targetLabel(n.to));
        edge(from, target, "agent" in n.to ? "hand over" : n.mode);
        // A handover never comes back; a human who does not answer leads to onNoAnswer or the offer.
        if (!("agent" in n.to))
          edge(
            from,
            n.onNoAnswer ? jump(n.onNoAnswer) : pseudo("$fallback", "fallback", "offer a message or a call back"),
            "no answer",
          );
        break;
      }
      default:
        if (!terminal.has(n.type)) edge(from, onward());
    }
  });
  return { nodes: [...nodes, ...extra.values()], edges };
}

/** The agent's graph as the daemon compiles it (its language decides the texts of template flows). */
export function agentGraph(agent: AgentConfig, config: Pick<Config, "speech">): FlowGraph {
  const graph = flowGraph(agentFlow(agent, agent.language ?? config.speech.language));
  // FAQ entries are the intents faq-N: name them by their first question.
  for (const e of graph.edges) {
    const m = /^faq-(\d+)$/.exec(e.label ?? "");
    const question = m && agent.knowledge[Number(m[1])]?.questions[0];
    if (question) e.label = short(`${e.label}: ${question}`, 60);
  }
  return graph;
}

export function flowGraphRoutes(deps: FlowGraphDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/api/agents/:id/graph",
      access: "admin",
      summary: "The compiled flow of a running agent as nodes and edges",
      tag: "config",
      response: graphSchema.extend({ agent: z.string(), template: z.string(), custom: z.boolean() }),
      handle: ({ params }) => {
        const config = deps.current();
        const agent = config.agents.find((a) => a.id === params.id);
        if (!agent) throw new HttpError(404, `no agent "${params.id}"`, "path.id");
        return {
          agent: agent.id,
          template: agent.template,
          custom: agent.flow !== undefined,
          ...agentGraph(agent, config),
        };
      },
    }),
    route<unknown, { agent: Record<string, unknown>; index?: number }>({
      method: "POST",
      path: "/api/agents/validate",
      access: "admin",
      summary: "Check an agent draft against the whole config (problems name the node) and draw its graph",
      tag: "config",
      body: z
        .object({
          agent: z.record(z.string(), z.unknown()),
          index: z.number().int().min(0).optional().describe("the draft replaces agents[index]; default: by id"),
        })
        .strict(),
      response: z.object({
        index: z.number(),
        problems: z.array(z.object({ path: z.string(), message: z.string() })),
        graph: graphSchema.optional(),
      }),
      handle: ({ body }) => {
        let snap: ReturnType<typeof readConfigFile>;
        try {
          snap = readConfigFile(deps.configFile);
        } catch (e) {
          throw configHttpError(e, "configFile");
        }
        const agents = Array.isArray(snap.raw.agents) ? [...(snap.raw.agents as unknown[])] : [];
        const byId = agents.findIndex((a) => getIn(a, ["id"]) === body.agent.id);
        const index = body.index ?? (byId >= 0 ? byId : agents.length);
        if (index > agents.length)
          throw new HttpError(400, `there are ${agents.length} agents; index may be at most that`, "body.index");
        agents[index] = body.agent;
        let problems: { path: string; message: string }[] = [];
        try {
          planEdit(snap, ["agents"], agents);
        } catch (e) {
          if (!(e instanceof InvalidConfigError)) throw configHttpError(e, `agents[${index}]`);
          problems = e.problems;
        }
        // The draft's graph, even when a reference elsewhere is broken, as long as the agent itself parses.
        const parsed = agentSchema.safeParse(body.agent);
        const language = snap.config?.speech ?? deps.current().speech;
        return {
          index,
          problems,
          ...(parsed.success && { graph: agentGraph(parsed.data, { speech: language }) }),
        };
      },
    }),
  ];
}
