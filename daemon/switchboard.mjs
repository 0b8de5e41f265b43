#!/usr/bin/env node
// Entry point of the `switchboard` command. The daemon is TypeScript run through tsx's loader.
import { register } from "tsx/esm/api";

register();
process.env.ORT_DISABLE_TELEMETRY ??= "1";
const { main } = await import("./cli.ts");
process.exitCode = await main(process.argv.slice(2));
// After a daemon shutdown every handle should be closed; if a straggler keeps the loop alive, do not hang.
setTimeout(() => process.exit(), 3000).unref();
