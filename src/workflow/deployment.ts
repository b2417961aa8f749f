// A deployment's secrets, under its data folder: the Ed25519 key that signs the audit chain and the
// salt that turns subject identifiers into hashes. Made once on first use (private files mode 0600),
// refused when another user could read them.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../errors.js';

export interface Deployment {
  dataDir: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** First 16 hex digits of sha256(public key, SPKI DER): names the key in exports. */
  keyId: string;
  /** Per-deployment salt for subject hashes (32 bytes). */
  salt: Buffer;
}

export const KEY_DIR = 'keys';
export const PRIVATE_KEY_FILE = 'audit-ed25519.key.pem';
export const PUBLIC_KEY_FILE = 'audit-ed25519.pub.pem';
export const SALT_FILE = 'subject-salt';

function writeOnce(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode, flag: 'wx' });
  renameSync(tmp, path);
}

function readPrivate(path: string): string {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new LetheError('FORBIDDEN', `deployment: ${path} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${path}`);
  return readFileSync(path, 'utf8');
}

/** Loads the deployment's key and salt from DATA/keys, creating them on first use. */
export function loadDeployment(dataDir: string): Deployment {
  const dir = join(dataDir, KEY_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const priv = join(dir, PRIVATE_KEY_FILE);
  const pub = join(dir, PUBLIC_KEY_FILE);
  const saltFile = join(dir, SALT_FILE);
  if (!existsSync(priv)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeOnce(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    writeOnce(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o600);
  }
  if (!existsSync(saltFile)) writeOnce(saltFile, randomBytes(32).toString('hex') + '\n', 0o600);
  const privateKey = createPrivateKey(readPrivate(priv));
  const publicKey = createPublicKey(privateKey);
  if (existsSync(pub) && !createPublicKey(readFileSync(pub, 'utf8')).equals(publicKey)) {
    throw new LetheError('BAD_INPUT', `deployment: ${pub} does not match ${priv}`);
  }
  const salt = Buffer.from(readPrivate(saltFile).trim(), 'hex');
  if (salt.length !== 32) throw new LetheError('BAD_INPUT', `deployment: ${saltFile} must hold 32 bytes as hex, got ${salt.length} bytes`);
  const keyId = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
  return { dataDir, privateKey, publicKey, keyId, salt };
}
