// Every route of the REST API, collected from the API modules. A module exports `xxxRoutes(deps: WebDeps): Route[]`
// and is added to the list below; the OpenAPI document (GET /api/openapi.json) is built from this same list.
import type { Config } from "../config/schema.ts";
import type { Log } from "../ops/log.ts";
import type { Db } from "../store/db.ts";
import { authRoutes } from "./api/auth.ts";
import type { ScryptCost } from "./auth/passwords.ts";
import type { Route } from "./route.ts";

/** What API modules get from the daemon. */
export interface WebDeps {
  db: Db;
  log: Log;
  /** The current configuration (reloads included). */
  config: () => Config;
  dataDir: string;
  /** Clock of sessions, lockouts and audit entries; tests move it. Default Date.now. */
  now?: () => number;
  /** Software version for the OpenAPI document; default package.json's. */
  version?: string;
  /** scrypt cost of new password hashes; tests make it cheap. Default passwords.defaultCost. */
  scryptCost?: ScryptCost;
}

/** The auth routes plus the daemon's API modules (daemon-routes.ts); OpenAPI lists them all. */
export function webRoutes(deps: WebDeps, modules: Route[] = []): Route[] {
  const all: Route[] = [];
  all.push(...authRoutes(deps, () => all), ...modules);
  return all;
}
