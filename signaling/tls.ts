import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';
import { StartupError } from '../config/startup.ts';

export interface TlsFiles {
  key: string;
  cert: string;
}

/**
 * TLS for the Node server: the operator's certificate when TLS_CERT_FILE/TLS_KEY_FILE are set, else a
 * self-signed one for localhost made once and cached, so `--https` needs no manual openssl step.
 */
export async function loadTls(
  files: { tlsCertFile?: string; tlsKeyFile?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<TlsFiles> {
  if (files.tlsCertFile && files.tlsKeyFile) {
    return { cert: readPem('TLS_CERT_FILE', files.tlsCertFile), key: readPem('TLS_KEY_FILE', files.tlsKeyFile) };
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
  console.log(`[signaling] generated a self-signed certificate for localhost in ${dir}`);
  return { cert: pems.cert, key: pems.private };
}

function readPem(variable: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new StartupError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}
