/**
 * The node's Ed25519 identity: created on first start, kept as PKCS#8 PEM with mode 0600, and
 * refused (like ssh refuses a private key) when group or others can read it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LedgerKeyError, toError } from '../errors.js';

export interface NodeKey {
  readonly privateKey: KeyObject;
  /** SPKI DER of the public key, base64: what the ledger stores to verify without the private key. */
  readonly publicKeyBase64: string;
  /** True when this call created the key. */
  readonly created: boolean;
  readonly path: string;
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

/** Loads the key at `path`, or creates it (and its directory) when there is none. */
export function loadOrCreateNodeKey(path: string): NodeKey {
  try {
    const stat = statSync(path);
    if ((stat.mode & 0o077) !== 0) {
      throw new LedgerKeyError(`node key ${path} is readable by others (mode ${(stat.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
    }
    const privateKey = createPrivateKey(readFileSync(path));
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new LedgerKeyError(`node key ${path} is not an Ed25519 key`);
    return { privateKey, publicKeyBase64: publicKeyBase64(privateKey), created: false, path };
  } catch (err) {
    if (err instanceof LedgerKeyError) throw err;
    if (!isErrno(err, 'ENOENT')) throw new LedgerKeyError(`cannot read node key ${path}: ${toError(err).message}`, { cause: err });
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // O_EXCL: two daemons starting at once must not overwrite each other's fresh key.
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, pem);
    } finally {
      closeSync(fd);
    }
    chmodSync(path, 0o600);
    return { privateKey, publicKeyBase64: publicKeyBase64(privateKey), created: true, path };
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return loadOrCreateNodeKey(path);
    throw new LedgerKeyError(`cannot create node key ${path}: ${toError(err).message}`, { cause: err });
  }
}

function publicKeyBase64(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
}

export function signPayload(privateKey: KeyObject, payload: Buffer): Buffer {
  return sign(null, payload, privateKey);
}

/** A public key from its SPKI DER base64 form, as the ledger stores it. */
export function publicKeyFromBase64(publicKeyBase64Der: string): KeyObject {
  return createPublicKey({ key: Buffer.from(publicKeyBase64Der, 'base64'), format: 'der', type: 'spki' });
}

export function verifyPayload(publicKey: KeyObject, payload: Buffer, signature: Buffer): boolean {
  return verify(null, payload, publicKey, signature);
}
