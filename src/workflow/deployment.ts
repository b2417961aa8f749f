// A deployment's secrets: the Ed25519 key that signs the audit chain and the salt that turns subject
// identifiers into hashes. By default both live in DATA/keys, made once on first use (private files
// mode 0600), refused when another user could read them. A key in the data folder lets anyone who can
// write that folder re-sign a rewritten log, so the key can live elsewhere (`keyFile`: the CLI's
// `--key-file` or $LETHE_AUDIT_KEY_FILE); DATA/keys then keeps only its public half, which pins it.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { LetheError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { sha256 } from '../util/hash.js';

export interface Deployment {
  dataDir: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** First 16 hex digits of sha256(public key, SPKI DER): names the key in exports. */
  keyId: string;
  /** Per-deployment salt for subject hashes (32 bytes). */
  salt: Buffer;
  /** Where the private key was read from when kept outside the data folder (workers are given it). */
  keyFile: string | null;
}

export interface DeploymentOptions {
  /** The signing key's file, outside the data folder (made on first use of a new deployment). */
  keyFile?: string;
}

export const KEY_DIR = 'keys';
export const PRIVATE_KEY_FILE = 'audit-ed25519.key.pem';
export const PUBLIC_KEY_FILE = 'audit-ed25519.pub.pem';
export const SALT_FILE = 'subject-salt';
/** The environment variable the CLI reads for the key file. */
export const KEY_FILE_ENV = 'LETHE_AUDIT_KEY_FILE';

export const keyIdOf = (publicKey: KeyObject) => sha256(publicKey.export({ type: 'spki', format: 'der' })).slice(0, 16);

/** How keys and the salt are written: whole, readable by the owner only, and on disk before use. */
const SECRET_FILE = { mode: 0o600, fsync: true } as const;

function readPrivate(path: string): string {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077)
    throw new LetheError('FORBIDDEN', `deployment: ${path} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${path}`);
  return readFileSync(path, 'utf8');
}

const inside = (dir: string, p: string) => {
  const rel = relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};
/** The real path of p, or of its nearest existing folder joined with the rest (p may not exist yet). */
function realPath(p: string): string {
  let base = resolve(p);
  const rest: string[] = [];
  while (!existsSync(base) && dirname(base) !== base) {
    rest.unshift(basename(base));
    base = dirname(base);
  }
  return join(realpathSync(base), ...rest);
}

/** The private key's file: DATA/keys by default (made on first use), or `keyFile` kept outside. */
function privateKeyFile(dataDir: string, dir: string, o: DeploymentOptions): string {
  const inData = join(dir, PRIVATE_KEY_FILE);
  const pub = join(dir, PUBLIC_KEY_FILE);
  if (!o.keyFile) {
    if (!existsSync(inData) && existsSync(pub)) {
      throw new LetheError(
        'NOT_FOUND',
        `deployment: the audit signing key is not in ${dir} (its public key is): give '--key-file FILE' or $${KEY_FILE_ENV} where it is kept`,
      );
    }
    if (!existsSync(inData)) makeKey(inData, pub);
    return inData;
  }
  const file = resolve(o.keyFile);
  if (inside(realPath(dataDir), realPath(file)))
    throw new LetheError(
      'BAD_INPUT',
      `deployment: the key file ${file} lies inside the data folder ${dataDir}; keep it outside (or drop '--key-file' to use ${dir})`,
    );
  if (existsSync(inData)) {
    throw new LetheError(
      'BAD_INPUT',
      `deployment: ${inData} still holds a signing key while '--key-file' names ${file}; anyone who can read the data folder could re-sign the log with it: move it out (mv ${inData} ${file}) or delete it`,
    );
  }
  if (!existsSync(file)) {
    if (existsSync(pub))
      throw new LetheError(
        'NOT_FOUND',
        `deployment: the key file ${file} does not exist, and this deployment already has a key (${pub}): name the file that holds it`,
      );
    makeKey(file, pub);
  }
  return file;
}

function makeKey(priv: string, pub: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileAtomic(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, SECRET_FILE);
  writeFileAtomic(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string, SECRET_FILE);
}

/** Loads the deployment's key and salt, creating them on first use. */
export function loadDeployment(dataDir: string, o: DeploymentOptions = {}): Deployment {
  const dir = join(dataDir, KEY_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const priv = privateKeyFile(dataDir, dir, o);
  const pub = join(dir, PUBLIC_KEY_FILE);
  const saltFile = join(dir, SALT_FILE);
  if (!existsSync(saltFile)) writeFileAtomic(saltFile, randomBytes(32).toString('hex') + '\n', SECRET_FILE);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readPrivate(priv));
  } catch (err) {
    if (err instanceof LetheError) throw err;
    throw new LetheError('BAD_INPUT', `deployment: ${priv} is not a PEM private key (${(err as Error).message})`);
  }
  const publicKey = createPublicKey(privateKey);
  if (!existsSync(pub)) writeFileAtomic(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string, SECRET_FILE);
  else if (!createPublicKey(readFileSync(pub, 'utf8')).equals(publicKey))
    throw new LetheError('BAD_INPUT', `deployment: ${pub} does not match ${priv}`);
  const salt = Buffer.from(readPrivate(saltFile).trim(), 'hex');
  if (salt.length !== 32) throw new LetheError('BAD_INPUT', `deployment: ${saltFile} must hold 32 bytes as hex, got ${salt.length} bytes`);
  return { dataDir, privateKey, publicKey, keyId: keyIdOf(publicKey), salt, keyFile: o.keyFile ? resolve(o.keyFile) : null };
}
