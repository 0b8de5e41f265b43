import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { openApiDocument, openApiPath } from "./openapi.ts";
import { route } from "./route.ts";

describe("openapi", () => {
  const routes = [
    route({
      method: "GET",
      path: "/api/calls",
      access: "staff",
      tag: "calls",
      summary: "List calls",
      query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), q: z.string().optional() }),
      response: z.object({ items: z.array(z.object({ id: z.string() })) }),
      handle: () => ({ items: [] }),
    }),
    route({
      method: "PATCH",
      path: "/api/calls/:id",
      access: "admin",
      tag: "calls",
      summary: "Set status",
      body: z.object({ status: z.enum(["new", "done"]) }),
      handle: () => undefined,
    }),
    route({
      method: "GET",
      path: "/api/calls/:id/recording",
      access: "staff",
      tag: "calls",
      summary: "Recording",
      produces: "audio/wav",
      handle: () => undefined,
    }),
    route({ method: "POST", path: "/api/login", access: "public", tag: "auth", summary: "Log in", handle: () => 1 }),
  ];

  it("turns :params into {params}", () => {
    assert.equal(openApiPath("/api/calls/:id/recording"), "/api/calls/{id}/recording");
  });

  it("documents every route with its parameters, body, answer and security", () => {
    const doc = openApiDocument(routes, { version: "1.2.3" }) as {
      openapi: string;
      info: { version: string };
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: { securitySchemes: Record<string, { in: string; name: string }> };
      tags: { name: string }[];
    };
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(doc.info.version, "1.2.3");
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/api/calls",
      "/api/calls/{id}",
      "/api/calls/{id}/recording",
      "/api/login",
    ]);
    const list = doc.paths["/api/calls"].get;
    assert.deepEqual(list.tags, ["calls"]);
    const params = list.parameters as { name: string; in: string; required: boolean; schema: { maximum?: number } }[];
    assert.deepEqual(
      params.map((p) => [p.name, p.in, p.required]),
      [
        ["limit", "query", false],
        ["q", "query", false],
      ],
    );
    assert.equal(params[0].schema.maximum, 200);
    assert.deepEqual(list.security, [{ session: [] }]);
    const patch = doc.paths["/api/calls/{id}"].patch;
    assert.deepEqual(
      (patch.parameters as { name: string; in: string }[]).map((p) => [p.name, p.in]),
      [["id", "path"]],
    );
    assert.deepEqual(patch.security, [{ session: [], csrf: [] }], "unsafe methods need the CSRF header");
    assert.equal(patch["x-access"], "admin");
    const body = patch.requestBody as { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
    assert.deepEqual(body.content["application/json"].schema.properties.status, {
      type: "string",
      enum: ["new", "done"],
    });
    const rec = doc.paths["/api/calls/{id}/recording"].get.responses as Record<string, { content?: object }>;
    assert.deepEqual(Object.keys(rec["200"].content ?? {}), ["audio/wav"]);
    assert.deepEqual(doc.paths["/api/login"].post.security, []);
    assert.equal(doc.components.securitySchemes.session.in, "cookie");
    assert.equal(doc.components.securitySchemes.csrf.name, "x-csrf-token");
    assert.deepEqual(
      doc.tags.map((t) => t.name),
      ["auth", "calls"],
    );
  });
});
