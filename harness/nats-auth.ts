import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { signWithCa } from '../scripts/stack/nats-security.ts';

/** A throwaway certificate authority with a server certificate for 127.0.0.1 and a client certificate. */
export interface TestPki {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export function makeTestPki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-pki-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=parley-test-ca',
  );
  const leaf = (name: string, usage: string, san: string) => {
    fs.writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    signWithCa(openssl, name, 1);
  };
  leaf('server', 'serverAuth', 'IP:127.0.0.1,DNS:localhost');
  leaf('client', 'clientAuth', 'DNS:parley-client');
  return {
    dir,
    caFile: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
  };
}

/** An nkey user: the seed file a process is given (NATS_NKEY_SEED) and the public key the server lists. */
export function makeNkeyUser(dir: string, name: string): { seedFile: string; publicKey: string } {
  const user = createUser();
  const seedFile = path.join(dir, `${name}.nk`);
  fs.writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()), { mode: 0o600 });
  return { seedFile, publicKey: user.getPublicKey() };
}

/** The permissions operators include (the same file the deployments use). */
export { PERMISSIONS_CONF } from '../scripts/nats-permissions.ts';

/**
 * Server configuration with Parley's two roles (infra/nats/permissions.conf, included as operators would):
 * signaling by user and password, the media worker by nkey. Start the server with `includes: [PERMISSIONS_CONF]`.
 */
export function rolesConfig(users: { signalingPassword: string; mediaWorkerNkey: string }): string {
  return `include "permissions.conf"
authorization {
  users: [
    { user: "parley-signaling", password: "${users.signalingPassword}", permissions: $PARLEY_SIGNALING_PERMISSIONS }
    { nkey: "${users.mediaWorkerNkey}", permissions: $PARLEY_MEDIA_WORKER_PERMISSIONS }
  ]
}`;
}
