// The OpenAPI 3.1 document of the REST API, built from the same Route declarations the server dispatches, so the
// document cannot drift from what the daemon really accepts.
import { z } from "zod";
import type { Route } from "./route.ts";
import { sessionCookieName } from "./auth/sessions.ts";

type JsonSchema = Record<string, unknown>;

export const csrfHeader = "x-csrf-token";

/** JSON Schema of a zod schema (2020-12, what OpenAPI 3.1 uses); {} for what JSON Schema cannot say. */
function schemaOf(s: z.ZodType, io: "input" | "output"): JsonSchema {
  try {
    const { $schema: _, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as JsonSchema;
    return rest;
  } catch {
    return {};
  }
}

/** "/api/calls/:id" -> "/api/calls/{id}" */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function errorResponse(description: string) {
  return { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
}

function operation(r: Route): Record<string, unknown> {
  const params: Record<string, unknown>[] = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  if (r.query) {
    const q = schemaOf(r.query, "input");
    const props = (q.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((q.required ?? []) as string[]);
    for (const [name, schema] of Object.entries(props))
      params.push({ name, in: "query", required: required.has(name), schema });
  }
  const ok: Record<string, unknown> = { description: "OK" };
  if (r.produces) ok.content = { [r.produces]: {} };
  else if (r.response) ok.content = { "application/json": { schema: schemaOf(r.response, "output") } };
  const responses: Record<string, unknown> = {
    [r.response || r.produces ? "200" : "2XX"]: ok,
    "400": errorResponse("Bad request: `where` names the parameter or field"),
  };
  if (r.access !== "public") {
    responses["401"] = errorResponse("Not logged in");
    responses["403"] = errorResponse("Wrong role, missing CSRF token, or the password must be replaced first");
  }
  const unsafe = r.method !== "GET";
  return {
    tags: [r.tag],
    summary: r.summary,
    operationId: `${r.method.toLowerCase()}${openApiPath(r.path)
      .replace(/^\/api/, "")
      .replace(/[{}]/g, "")
      .split(/[/._-]/)
      .filter(Boolean)
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join("")}`,
    "x-access": r.access,
    ...(params.length > 0 && { parameters: params }),
    ...(r.body && {
      requestBody: { required: true, content: { "application/json": { schema: schemaOf(r.body, "input") } } },
    }),
    responses,
    security: r.access === "public" ? [] : [unsafe ? { session: [], csrf: [] } : { session: [] }],
  };
}

export function openApiDocument(routes: Route[], info: { title?: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = openApiPath(r.path);
    paths[p] ??= {};
    paths[p][r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: info.title ?? "Switchboard admin API",
      version: info.version,
      description:
        "The REST API of the box's admin web page (the page itself uses it). Log in with POST /api/login; the " +
        `session is the ${sessionCookieName} cookie, and every non-GET request of a session needs its CSRF token ` +
        `in the ${csrfHeader} header (from the login answer or GET /api/session).`,
    },
    tags: [...new Set(routes.map((r) => r.tag))].sort().map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: sessionCookieName },
        csrf: { type: "apiKey", in: "header", name: csrfHeader },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: { type: "string" },
            where: { type: "string" },
            problems: {
              type: "array",
              items: {
                type: "object",
                required: ["path", "message"],
                properties: { path: { type: "string" }, message: { type: "string" } },
              },
            },
          },
        },
      },
    },
  };
}
