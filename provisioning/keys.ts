// Ed25519 keys for bundle signing. The installer's private key signs manifests; a device trusts one public key
// (PEM, SPKI), given on the command line, in the config, or at <dataDir>/provisioning/trusted.pub.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const PRIVATE_KEY_FILE = "provisioning.key";
export const PUBLIC_KEY_FILE = "provisioning.pub";

/** Writes provisioning.key (PKCS#8 PEM, 0600) and provisioning.pub (SPKI PEM) into `dir`; refuses to overwrite. */
export function generateKeys(dir: string): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const priv = join(dir, PRIVATE_KEY_FILE);
  const pub = join(dir, PUBLIC_KEY_FILE);
  // "wx": an existing key is never silently replaced (devices in the field trust it).
  writeFileSync(priv, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644, flag: "wx" });
  return { privateKey: priv, publicKey: pub };
}

function ed25519(key: KeyObject, file: string): KeyObject {
  if (key.asymmetricKeyType !== "ed25519")
    throw new Error(`${file}: an ${key.asymmetricKeyType ?? "unknown"} key, expected ed25519`);
  return key;
}

export function loadPrivateKey(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read private key: ${(e as Error).message}`);
  }
  try {
    return ed25519(createPrivateKey(pem), file);
  } catch (e) {
    throw new Error(`${file}: not a PEM private key: ${(e as Error).message}`);
  }
}

export function loadPublicKey(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read public key: ${(e as Error).message}`);
  }
  return publicKeyFromPem(pem, file);
}

/** A public key from PEM text (as it may sit in the config). */
export function publicKeyFromPem(pem: string, where = "public key"): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new Error(`${where}: not a PEM public key: ${(e as Error).message}`);
  }
  return ed25519(key, where);
}

/** The base64 text stored in manifest.sig. */
export function signManifest(manifestBytes: Buffer, privateKey: KeyObject): string {
  return `${sign(null, manifestBytes, privateKey).toString("base64")}\n`;
}
