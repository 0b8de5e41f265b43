// Secrets in the config (trunk passwords, webhook secrets, API keys in headers) never leave the box through the web
// page: they are shown as "********", and a "********" sent back means "keep the stored value", so an admin can
// save a section without retyping every password in it.
import { type ConfigPath, isPlainObject } from "./config-path.ts";
import { formatPath } from "./load.ts";

/** What a secret looks like in every answer; sent back unchanged it means "keep the stored value". */
export const REDACTED = "********";

const SECRET_KEY = /(password|secret|token|apikey|privatekey|authorization)$/i;

/**
 * Where a secret lives: any key named like password/secret/token/apiKey/privateKey/authorization
 * (trunks[].password, actions[].webhook.secret, actions[].mail.password, ...) and every webhook header value
 * (Authorization, API keys under any name). A bare `key` is not one: menu options use it for the DTMF key.
 */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  const last = path[path.length - 1];
  if (typeof last === "string" && SECRET_KEY.test(last)) return true;
  return path.length === 5 && path[0] === "actions" && path[2] === "webhook" && path[3] === "headers";
}

/** The value with every secret below `path` replaced by "********" (empty secrets stay empty: nothing to hide). */
export function redactSecrets(value: unknown, path: ConfigPath = []): unknown {
  if (isSecretPath(path) && value !== undefined && value !== null && value !== "") return REDACTED;
  if (Array.isArray(value)) return value.map((v, i) => redactSecrets(v, [...path, i]));
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, [...path, k])]));
  return value;
}

/** List entries with an `id` find their stored counterpart by id, so deleting a trunk cannot shift passwords. */
function counterpart(stored: unknown, next: unknown, index: number): unknown {
  if (!Array.isArray(stored)) return undefined;
  const id = isPlainObject(next) ? next.id : undefined;
  if (typeof id === "string") return stored.find((s) => isPlainObject(s) && s.id === id);
  return stored[index];
}

/**
 * `next` (the value at `path`) with every "********" at a secret's place replaced by the `stored` secret there; a
 * "********" with nothing stored behind it is pushed to `problems`.
 */
export function restoreSecrets(
  next: unknown,
  stored: unknown,
  path: ConfigPath,
  problems: { path: string; message: string }[],
): unknown {
  if (next === REDACTED && isSecretPath(path)) {
    if (stored !== undefined && stored !== null && stored !== "") return stored;
    problems.push({ path: formatPath(path), message: "no stored secret to keep here: enter the value itself" });
    return next;
  }
  if (Array.isArray(next))
    return next.map((v, i) => restoreSecrets(v, counterpart(stored, v, i), [...path, i], problems));
  if (isPlainObject(next))
    return Object.fromEntries(
      Object.entries(next).map(([k, v]) => [
        k,
        restoreSecrets(v, isPlainObject(stored) ? stored[k] : undefined, [...path, k], problems),
      ]),
    );
  return next;
}
