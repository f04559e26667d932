import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * What NATS needs to be a trust boundary in a one-machine deployment (infra/compose/nats.conf reads it): a private
 * certificate authority, a certificate for the NATS servers (client, WebSocket and cluster listeners), and one
 * password per role of infra/nats/permissions.conf. Made fresh for every stack, never published.
 */
export interface NatsSecurity {
  /** Holds ca.pem, server.pem and server.key, as the servers mount it (/etc/nats/tls). */
  tlsDir: string;
  caFile: string;
  passwords: { signaling: string; mediaWorker: string };
}

/** The users nats.conf defines, one per role. */
export const NATS_USERS = { signaling: 'parley-signaling', mediaWorker: 'parley-media-worker' } as const;

/** The uid the NATS images run as (nobody): it must read the server key, and nobody else. */
const NATS_UID = 65534;

/**
 * Creates the CA, the servers' certificate (named for each of `hosts`, names or IPv4 addresses, and localhost)
 * and the passwords in `dir`.
 * The key is readable by the NATS servers' user only.
 */
export function createNatsSecurity(dir: string, hosts: string[]): NatsSecurity {
  const tlsDir = path.join(dir, 'nats-tls');
  fs.rmSync(tlsDir, { recursive: true, force: true });
  fs.mkdirSync(tlsDir, { recursive: true, mode: 0o755 });
  const work = fs.mkdtempSync(path.join(dir, '.pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: work, stdio: 'pipe' });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '365', '-subj', '/CN=parley-stack-nats-ca');
    const names = [...hosts, 'localhost'].map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
    // serverAuth for clients, clientAuth too: the servers present it to each other on cluster routes.
    fs.writeFileSync(
      path.join(work, 'server.ext'),
      `subjectAltName=${names},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
    );
    openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=parley-nats');
    signWithCa(openssl, 'server', 365);
    for (const file of ['ca.pem', 'server.pem']) fs.copyFileSync(path.join(work, file), path.join(tlsDir, file));
    fs.copyFileSync(path.join(work, 'server.key'), path.join(tlsDir, 'server.key'));
    fs.chmodSync(path.join(tlsDir, 'ca.pem'), 0o644);
    fs.chmodSync(path.join(tlsDir, 'server.pem'), 0o644);
    fs.chmodSync(path.join(tlsDir, 'server.key'), 0o400);
    if (process.getuid?.() === 0) fs.chownSync(path.join(tlsDir, 'server.key'), NATS_UID, NATS_UID);
  } finally {
    // The CA's key is not kept: nothing else will ever be signed with it.
    fs.rmSync(work, { recursive: true, force: true });
  }
  // nats-server parses a variable's value as configuration: a leading letter keeps hex from reading as a number.
  const password = () => `p${crypto.randomBytes(24).toString('hex')}`;
  return {
    tlsDir,
    caFile: path.join(tlsDir, 'ca.pem'),
    passwords: { signaling: password(), mediaWorker: password() },
  };
}

/**
 * Signs `<name>.csr` with the CA in the working directory of `openssl` (ca.pem, ca.key) into `<name>.pem`, with
 * the extensions in `<name>.ext`.
 */
export function signWithCa(openssl: (...args: string[]) => unknown, name: string, days: number): void {
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    String(days),
    '-extfile',
    `${name}.ext`,
  );
}
