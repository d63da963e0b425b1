import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// AES-256-GCM envelope encryption of tenant secrets. Each secret gets its own random data key; the
// data key is encrypted ("wrapped") under a master key from the environment. Both encryptions bind
// the tenant and the secret's name as associated data, so a ciphertext copied to another tenant's
// row, or renamed, fails to decrypt instead of leaking.

export type MasterKey = { id: string; key: Buffer };
/** The master keys from SECRETS_MASTER_KEYS: the first encrypts, every one decrypts. */
export type Keyring = { active: MasterKey; byId: Map<string, MasterKey> };
/** What is stored: the id of the master key that wrapped the data key, and the sealed bytes. */
export type Envelope = { keyId: string; data: Buffer };
/** Where a secret belongs; both parts are bound into the ciphertext. */
export type SecretRef = { tenantId: string; name: string };

export class SecretsUnavailableError extends Error {}
export class SecretDecryptError extends Error {}

const VERSION = 1;
const IV = 12;
const TAG = 16;
const DATA_KEY = 32;

/** Parses `id:base64,id:base64` (validated by config). Undefined when no master key is configured. */
export function parseKeyring(value: string | undefined): Keyring | undefined {
  if (!value) return undefined;
  const keys = value.split(',').map((part) => {
    const [id, b64] = part.trim().split(':') as [string, string];
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) throw new SecretsUnavailableError(`master key ${id} is not 32 bytes`);
    return { id, key };
  });
  return { active: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])) };
}

export function requireKeyring(keyring: Keyring | undefined): Keyring {
  if (!keyring) throw new SecretsUnavailableError('secrets at rest need SECRETS_MASTER_KEYS; none is configured');
  return keyring;
}

function associatedData(ref: SecretRef, keyId?: string): Buffer {
  return Buffer.from(['blog-poster secret v1', ref.tenantId, ref.name, ...(keyId ? [keyId] : [])].join('\0'), 'utf8');
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV), { authTagLength: TAG });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(IV, IV + TAG));
  return Buffer.concat([decipher.update(sealed.subarray(IV + TAG)), decipher.final()]);
}

/** Layout: version (1 byte) | length of the wrapped data key (1 byte) | wrapped data key | sealed secret. */
export function encryptSecret(keyring: Keyring | undefined, input: SecretRef & { plaintext: string }): Envelope {
  const { active } = requireKeyring(keyring);
  const dataKey = randomBytes(DATA_KEY);
  try {
    const wrapped = seal(active.key, dataKey, associatedData(input, active.id));
    const sealed = seal(dataKey, Buffer.from(input.plaintext, 'utf8'), associatedData(input));
    return { keyId: active.id, data: Buffer.concat([Buffer.from([VERSION, wrapped.length]), wrapped, sealed]) };
  } finally {
    dataKey.fill(0);
  }
}

export function decryptSecret(keyring: Keyring | undefined, input: SecretRef & { envelope: Envelope }): string {
  const ring = requireKeyring(keyring);
  const master = ring.byId.get(input.envelope.keyId);
  if (!master)
    throw new SecretDecryptError(
      `secret "${input.name}" is sealed under master key "${input.envelope.keyId}", ` +
        `which SECRETS_MASTER_KEYS no longer holds`,
    );
  const data = input.envelope.data;
  if (data[0] !== VERSION || data.length < 2)
    throw new SecretDecryptError(`secret "${input.name}" has an unknown envelope format`);
  const wrappedLength = data[1]!;
  try {
    const dataKey = open(master.key, data.subarray(2, 2 + wrappedLength), associatedData(input, master.id));
    try {
      return open(dataKey, data.subarray(2 + wrappedLength), associatedData(input)).toString('utf8');
    } finally {
      dataKey.fill(0);
    }
  } catch {
    // GCM says only "unable to authenticate": wrong key, wrong tenant or name, or tampered bytes.
    throw new SecretDecryptError(
      `secret "${input.name}" does not decrypt for this tenant and name (tampered, moved, or a wrong master key)`,
    );
  }
}

/** What may be shown of a secret: its last four characters, and only when it is long enough to spare them. */
export function secretHint(plaintext: string): string {
  return plaintext.length >= 12 ? `…${plaintext.slice(-4)}` : '…';
}
