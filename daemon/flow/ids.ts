// The id rule every configured thing shares (windows, agents, nodes, actions), in a module of its own so the time
// windows and the action registry need not import the flow graph.
import { z } from "zod";

export const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/i, "letters, digits, - and _ (starting with a letter or digit)");
