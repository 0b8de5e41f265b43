// Where the real model files live on a dev/CI machine, and the skip rule for tests that need one:
// absent locally → skip naming the model; absent under CI=true → fail, so CI never silently tests less.
import { existsSync } from "node:fs";
import type { TestContext } from "node:test";

export const sharedModelsDir =
  process.env.SWITCHBOARD_SHARED_MODELS ?? new URL("../../../shared/models/", import.meta.url).pathname;

/** True when `file` exists; otherwise skips the test (or throws under CI=true) with a message naming the model. */
export function needModel(t: TestContext, model: string, file: string): boolean {
  if (existsSync(file)) return true;
  const msg = `model ${model} is absent (${file}); set SWITCHBOARD_SHARED_MODELS or install it to run this test`;
  if (process.env.CI === "true") throw new Error(`${msg} (CI=true: required)`);
  t.skip(msg);
  return false;
}
