import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';
import { log } from '../tracing/log.ts';

export interface TlsFiles {
  key: string;
  cert: string;
}

/**
 * TLS for the Node server: the operator's certificate when TLS_CERT_FILE/TLS_KEY_FILE are set, else a
 * self-signed one for localhost made once and cached, so `--https` needs no manual openssl step.
 */
export async function loadTls(env: NodeJS.ProcessEnv = process.env): Promise<TlsFiles> {
  if (env.TLS_CERT_FILE && env.TLS_KEY_FILE) {
    return { cert: fs.readFileSync(env.TLS_CERT_FILE, 'utf8'), key: fs.readFileSync(env.TLS_KEY_FILE, 'utf8') };
  }
  const dir = path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'parley', 'tls');
  const certFile = path.join(dir, 'localhost-cert.pem');
  const keyFile = path.join(dir, 'localhost-key.pem');
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    return { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  }
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(keyFile, pems.private, { mode: 0o600 });
  fs.writeFileSync(certFile, pems.cert);
  log.info('generated a self-signed certificate for localhost', { dir });
  return { cert: pems.cert, key: pems.private };
}

export function wantsHttps(argv: string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--https') || env.HTTPS === '1' || Boolean(env.TLS_CERT_FILE);
}
