// What every part of the web API is made of: a Route declares its method, path, the role it needs, and zod schemas
// for its query, body and response. The server checks role, session, CSRF and the schemas before a handler runs, and
// the same declarations become the OpenAPI document. Handlers never touch auth; they get a typed RouteContext.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";

export type Role = "admin" | "staff";
/** "public": no session needed (login, first boot). "staff": any logged-in user. "admin": admins only. */
export type Access = "public" | Role;
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface SessionUser {
  name: string;
  role: Role;
  /** The password is a first-boot secret or was reset: everything but replacing it is refused. */
  mustChange: boolean;
}

export interface AuditEntry {
  /** e.g. "config.update", "calls.export", "calls.delete-caller", "user.create". */
  action: string;
  /** What was acted on: a config section, a caller number, a user name. Never a secret. */
  target?: string;
  detail?: Record<string, unknown>;
}

export interface RouteContext<Q = unknown, B = unknown> {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Path parameters (`/api/calls/:id` -> { id }), URI-decoded. */
  params: Record<string, string>;
  /** The parsed query (route.query), or {} */
  query: Q;
  /** The parsed JSON body (route.body), or undefined. */
  body: B;
  /** Undefined only on public routes. */
  user?: SessionUser;
  remoteAddress: string;
  /** Writes an audit entry stamped with the user, the address and the time. */
  audit(entry: AuditEntry): void;
}

/** A handler that wrote the response itself (streams, files, CSV) returns this. */
export const SENT: unique symbol = Symbol("response sent");

export interface Route<Q = unknown, B = unknown> {
  method: Method;
  /** e.g. "/api/calls/:id/recording". */
  path: string;
  access: Access;
  /** One line for the OpenAPI document. */
  summary: string;
  /** OpenAPI tag, e.g. "calls". */
  tag: string;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The JSON answer's shape (documentation; the server does not re-validate answers). */
  response?: z.ZodType;
  /** Non-JSON answers (CSV, audio, SSE) name their media type for the OpenAPI document. */
  produces?: string;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler may answer nothing (204)
  handle(ctx: RouteContext<Q, B>): Promise<unknown | typeof SENT | void> | unknown;
}

/** An error a client caused (or a missing thing): status, a message, and where (field path, parameter, header). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly where?: string,
    /** Per-field problems (config validation): { path: "routing.windows[0].days.mon[1]", message }. */
    readonly problems?: { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** Helps TypeScript infer Q and B from the schemas. */
export function route<Q = unknown, B = unknown>(r: Route<Q, B>): Route {
  return r as Route;
}
