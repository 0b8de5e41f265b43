// The web page's TLS certificate. Without configured files the box makes its own on first start: ECDSA P-256,
// self-signed, valid 10 years, naming the hostname, localhost and every address of the box. Browsers will warn once;
// the SHA-256 fingerprint (shown on the console and in the log) is how an admin checks it is really the box.
import { randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 of the DER certificate, "AA:BB:...". */
  fingerprint: string;
  /** A certificate was made on this start. */
  generated: boolean;
  certFile: string;
}

/** Replace a generated certificate this long before it expires. */
const renewBeforeMs = 30 * 86_400_000;

export function boxAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a): a is NonNullable<typeof a> => a !== undefined && !a.internal && !a.address.includes("%"))
    .filter((a) => !(a.family === "IPv6" && a.address.toLowerCase().startsWith("fe80:")))
    .map((a) => a.address);
}

/**
 * Configured files as they are, else <dataDir>/<subdir>/{cert,key}.pem (subdir "web" unless given), made on first
 * start and reused afterwards.
 */
export async function loadTls(opts: {
  dataDir: string;
  certFile?: string;
  keyFile?: string;
  now?: number;
  /** Sub-directory of dataDir for the generated pair (the SIP listener keeps its own: "sip-tls"). */
  subdir?: string;
}): Promise<TlsMaterial> {
  if (opts.certFile && opts.keyFile) {
    const cert = readFileSync(opts.certFile, "utf8");
    const key = readFileSync(opts.keyFile, "utf8");
    return { cert, key, fingerprint: fingerprintOf(cert), generated: false, certFile: opts.certFile };
  }
  const dir = join(opts.dataDir, opts.subdir ?? "web");
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const now = opts.now ?? Date.now();
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, "utf8");
    if (Date.parse(new X509Certificate(cert).validTo) - now > renewBeforeMs) {
      return { cert, key: readFileSync(keyFile, "utf8"), fingerprint: fingerprintOf(cert), generated: false, certFile };
    }
  }
  const made = await selfSigned([hostname(), "localhost"], ["127.0.0.1", "::1", ...boxAddresses()], now);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomic(keyFile, made.key, 0o600);
  writeAtomic(certFile, made.cert, 0o644);
  return { ...made, fingerprint: fingerprintOf(made.cert), generated: true, certFile };
}

export async function selfSigned(
  dnsNames: string[],
  ips: string[],
  now = Date.now(),
): Promise<{ cert: string; key: string }> {
  // Loaded only when a certificate is made. @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill first.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const names = [
    ...[...new Set(dnsNames.filter(Boolean))].map((value) => ({ type: "dns" as const, value })),
    ...[...new Set(ips)].map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    // Positive 16-byte serial (the top bit clear).
    serialNumber: `01${randomBytes(15).toString("hex")}`,
    name: `CN=${dnsNames[0] || "switchboard"}, O=Switchboard`,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 10 * 365 * 86_400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem"), key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode); // the umask may have narrowed or widened nothing, but make it exact
  renameSync(tmp, file);
}
