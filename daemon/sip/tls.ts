// SIP over TLS (RFC 3261 26.2, RFC 5922): the StreamFactory behind `transport: tls` listeners and trunks.
// Our listener presents the configured certificate, or a self-signed one made once in <dataDir>/sip-tls. Servers
// we connect to are checked against the default CAs plus the configured ones, by the domain we resolved (the SRV
// target never counts), or by IP address for an IP literal. All files are checked at load, so a bad path or PEM
// stops the start with a message naming it instead of failing on the first call.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import tls from "node:tls";
import type { SipTlsConfig } from "../config/schema.ts";
import type { Log } from "../ops/log.ts";
import { fingerprintOf, loadTls } from "../web/tls-cert.ts";
import type { StreamFactory } from "./transport.ts";

export interface SipTls {
  factory: StreamFactory;
  /** SHA-256 of our listener's certificate, "AA:BB:..." (what a provider pins or an admin compares). */
  fingerprint: string;
  certFile: string;
  /** The self-signed certificate was made on this start. */
  generated: boolean;
}

export interface SipTlsOptions {
  /** Drop a client that has not finished its handshake in time (default 10 s): the peer controls that time. */
  handshakeTimeoutMs?: number;
}

const minVersion = "TLSv1.2";

/** Read our certificate/key and the CA files, and build the TLS stream factory. Throws naming the bad file. */
export async function loadSipTls(
  cfg: SipTlsConfig,
  dataDir: string,
  log: Log,
  opts: SipTlsOptions = {},
): Promise<SipTls> {
  const own = cfg.cert && cfg.key ? configuredPair(cfg.cert, cfg.key) : await generatedPair(dataDir);
  const extraCa = cfg.ca.flatMap((file) => caFile(file));
  // `ca` replaces node's store, so the default CAs go in first; without extra files node's own default stays.
  // Built once: a context per connect would parse the ~140 default CAs each time (about 30 ms of CPU).
  const clientContext = tls.createSecureContext({
    ca: extraCa.length > 0 ? [...defaultCAs(), ...extraCa] : undefined,
    minVersion,
  });
  // An expired certificate is the admin's to replace; refusing to start would take UDP/TCP calls down too.
  if (own.validTo && Date.parse(own.validTo) < Date.now()) {
    log.warn(
      { certFile: own.certFile, validTo: own.validTo },
      "SIP TLS certificate has expired; TLS peers will refuse it",
    );
  }
  if (!cfg.verifyServer) {
    log.warn("sip.tls.verifyServer is off: certificates of TLS servers we connect to are not checked");
  }
  const handshakeTimeout = opts.handshakeTimeoutMs ?? 10_000;
  const factory: StreamFactory = {
    createServer(onConnection) {
      const server = tls.createServer({ cert: own.cert, key: own.key, minVersion, handshakeTimeout }, onConnection);
      server.on("tlsClientError", (e, sock) =>
        log.debug(
          { from: `${sock.remoteAddress}:${sock.remotePort}`, err: e.message },
          "SIP TLS client handshake failed",
        ),
      );
      return server;
    },
    connect(t, onConnect) {
      const name = t.serverName && isIP(t.serverName) === 0 ? t.serverName : undefined;
      return tls.connect(
        {
          host: t.address,
          port: t.port,
          // SNI, and the name checked; without it node checks `host`, an address, against the IP SANs.
          servername: name,
          secureContext: clientContext,
          rejectUnauthorized: cfg.verifyServer,
          minVersion,
          checkServerIdentity: sipServerIdentity,
        },
        onConnect,
      );
    },
  };
  const fingerprint = fingerprintOf(own.cert);
  log.info({ certFile: own.certFile, fingerprint, generated: own.generated }, "SIP TLS certificate");
  return { factory, fingerprint, certFile: own.certFile, generated: own.generated };
}

/**
 * RFC 5922 7.1: a URI SAN `sip:<domain>` names the SIP domain; node matches only DNS and IP SANs (URI SANs were
 * dropped for web use), so those are checked here first.
 */
export function sipServerIdentity(host: string, cert: tls.PeerCertificate): Error | undefined {
  if (isIP(host) === 0) {
    const want = `uri:sip:${host.toLowerCase()}`;
    const sans = (cert.subjectaltname ?? "").split(/,\s*/).map((s) => s.trim().toLowerCase());
    if (sans.includes(want)) return undefined;
  }
  return tls.checkServerIdentity(host, cert);
}

function defaultCAs(): string[] {
  // Node 22.15+ exposes the effective default store (including NODE_EXTRA_CA_CERTS); Node 20 has the bundled one.
  const get = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  return get ? get("default") : [...tls.rootCertificates];
}

interface Pair {
  cert: string;
  key: string;
  certFile: string;
  generated: boolean;
  validTo?: string;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${what} ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

const pemCert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function configuredPair(certFile: string, keyFile: string): Pair {
  const cert = readText(certFile, "sip.tls.cert");
  const key = readText(keyFile, "sip.tls.key");
  const [first] = cert.match(pemCert) ?? [];
  if (!first) throw new Error(`sip.tls.cert ${certFile}: no PEM certificate in the file`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(first);
  } catch (e) {
    throw new Error(`sip.tls.cert ${certFile}: not a valid certificate (${errText(e)})`);
  }
  let keyObject: ReturnType<typeof createPrivateKey>;
  try {
    keyObject = createPrivateKey(key);
  } catch (e) {
    throw new Error(`sip.tls.key ${keyFile}: not a valid PEM private key (${errText(e)})`);
  }
  if (!leaf.checkPrivateKey(keyObject)) {
    throw new Error(`sip.tls.key ${keyFile}: does not belong to the certificate in ${certFile}`);
  }
  try {
    tls.createSecureContext({ cert, key, minVersion });
  } catch (e) {
    throw new Error(`sip.tls.cert ${certFile} / sip.tls.key ${keyFile}: unusable for TLS (${errText(e)})`);
  }
  return { cert, key, certFile, generated: false, validTo: leaf.validTo };
}

async function generatedPair(dataDir: string): Promise<Pair> {
  try {
    const m = await loadTls({ dataDir, subdir: "sip-tls" });
    return { cert: m.cert, key: m.key, certFile: m.certFile, generated: m.generated };
  } catch (e) {
    throw new Error(`SIP TLS certificate in ${dataDir}/sip-tls: ${errText(e)}`);
  }
}

function caFile(file: string): string[] {
  const text = readText(file, "sip.tls.ca");
  const certs = text.match(pemCert) ?? [];
  if (certs.length === 0) throw new Error(`sip.tls.ca ${file}: no PEM certificate in the file`);
  certs.forEach((c, i) => {
    try {
      new X509Certificate(c);
    } catch (e) {
      throw new Error(`sip.tls.ca ${file}: certificate ${i + 1} is not valid (${errText(e)})`);
    }
  });
  return certs;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
