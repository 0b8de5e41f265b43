// Certificates for TLS test peers (Kamailio, baresip), made with the daemon's own generator (daemon/web/tls-cert.ts):
// self-signed P-256 for localhost and 127.0.0.1, so the certificate is also the CA a client must trust.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { selfSigned } from "../../daemon/web/tls-cert.ts";

/** PEM files `<name>-cert.pem` and `<name>-key.pem` in `dir`. */
export async function makeSelfSignedCertificate(
  dir: string,
  name = "server",
): Promise<{ certificate: string; privateKey: string }> {
  const made = await selfSigned(["localhost"], ["127.0.0.1"]);
  const certificate = join(dir, `${name}-cert.pem`);
  const privateKey = join(dir, `${name}-key.pem`);
  writeFileSync(certificate, made.cert);
  writeFileSync(privateKey, made.key, { mode: 0o600 });
  return { certificate, privateKey };
}
