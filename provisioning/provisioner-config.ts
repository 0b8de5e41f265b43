// The `provisioning` section of the daemon's config: where the USB provisioner looks for sticks, which key it
// trusts and who this box is. Every key has a default, so `provisioning: {}` turns the watcher on with the
// appliance's mount roots, the key at <dataDir>/provisioning/trusted.pub and the identity from device.json or
// /etc/machine-id.
import { z } from "zod";
import { DEFAULT_MOUNT_ROOTS } from "./usb-watch.ts";

const id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, "must be 1-128 letters, digits, '.', '_', ':' or '-'");

export const provisioningSchema = z
  .object({
    /** Off: no stick is watched (the CLI still applies bundles by hand). */
    enabled: z.boolean().default(true),
    /** Where sticks get mounted; searched `depth` directory levels down for switchboard-bundle*.tar. */
    mountRoots: z
      .array(z.string().min(1))
      .min(1)
      .max(16)
      .default([...DEFAULT_MOUNT_ROOTS]),
    depth: z.number().int().min(0).max(6).default(3),
    /** Poll interval: the box has no udev dependency, so a stick is noticed within one interval. */
    pollMs: z.number().int().min(100).max(600_000).default(3000),
    /** PEM file of the installer key this box trusts; default <dataDir>/provisioning/trusted.pub. */
    trustedKey: z.string().min(1).optional(),
    /** This box's identity for bundle targets; default device.json in the provisioning dir, else /etc/machine-id. */
    deviceId: id.optional(),
    fleetId: id.optional(),
  })
  .strict()
  .refine((p) => p.fleetId === undefined || p.deviceId !== undefined, {
    message: "fleetId needs a deviceId too (a bundle for this one device must still be recognised)",
    path: ["fleetId"],
  });

export type ProvisioningSettings = z.infer<typeof provisioningSchema>;
