// The `master` section of the daemon config: how the box talks to its master server. Where the server is and how to
// trust it come from the provisioning bundle (role `master`); `url` here only overrides the bundle's address.
import { z } from "zod";

export const masterConfigSchema = z
  .strictObject({
    /** Off: the box never contacts a master, whatever the bundle says. */
    enabled: z.boolean().default(true),
    /** Overrides the bundle's URL (e.g. after the master moved); must be https. */
    url: z
      .url()
      .refine((u) => u.startsWith("https://"), "must be an https:// URL")
      .optional(),
    /** Pause between polls when long-poll is off (longPollS 0), and after every answer otherwise. */
    pollS: z.number().int().min(0).max(86_400).default(5),
    /** How long the master may hold a poll open waiting for a new document (0: plain interval polling). */
    longPollS: z.number().int().min(0).max(300).default(55),
    /** Interval of the health/status report. */
    statusS: z.number().int().min(1).max(86_400).default(300),
    /** Backoff while the master is unreachable: doubles from backoffMinS up to backoffMaxS, with jitter. */
    backoffMinS: z.number().min(0.05).max(3600).default(2),
    backoffMaxS: z.number().min(0.05).max(86_400).default(300),
    /** Timeout of one request, on top of the long-poll time. */
    requestTimeoutS: z.number().min(1).max(600).default(30),
  })
  .refine((m) => m.backoffMaxS >= m.backoffMinS, { message: "must not be below backoffMinS", path: ["backoffMaxS"] });

export type MasterConfig = z.output<typeof masterConfigSchema>;

/** The section with every default, for a config that has no `master` key. */
export const defaultMasterConfig: MasterConfig = masterConfigSchema.parse({});
