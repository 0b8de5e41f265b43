// The handset's settings (config `hw.handset`), apart from hw/handset.ts so the config schema does not pull in calls.
import { z } from "zod";

export const handsetSchema = z
  .object({
    /** ALSA device of the handset's earpiece and microphone (e.g. "plughw:1,0"); absent = signalling only. */
    audioDevice: z.string().min(1).optional(),
    /** Trunk that keypad calls go out through; default: the first configured trunk. */
    trunk: z.string().min(1).optional(),
    /** A pause this long after the last key dials the number ('#' dials at once). */
    digitTimeoutS: z.number().min(1).max(30).default(4),
  })
  .strict();
export type HandsetConfig = z.infer<typeof handsetSchema>;
