import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import {
  decryptSecret,
  encryptSecret,
  parseKeyring,
  SecretDecryptError,
  SecretsUnavailableError,
  secretHint,
} from '../../src/security/envelope.ts';

const key = () => randomBytes(32).toString('base64');
const tenantId = '5f1d3c9e-8a4b-4c2d-9e6f-0a1b2c3d4e5f';

describe('AES-256-GCM envelopes', () => {
  const ring = parseKeyring(`k1:${key()}`)!;

  it('round-trips any text, with the key id on the ciphertext and no plaintext in it', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 2000, unit: 'grapheme' }), (plaintext) => {
        const envelope = encryptSecret(ring, { tenantId, name: 'llm', plaintext });
        expect(envelope.keyId).toBe('k1');
        if (plaintext.length >= 8) expect(envelope.data.includes(Buffer.from(plaintext))).toBe(false);
        expect(decryptSecret(ring, { tenantId, name: 'llm', envelope })).toBe(plaintext);
      }),
      { numRuns: 300 },
    );
  });

  it('binds tenant and name: a moved or renamed ciphertext does not decrypt', () => {
    const envelope = encryptSecret(ring, { tenantId, name: 'wordpress-main', plaintext: 'app password 1234' });
    expect(() =>
      decryptSecret(ring, { tenantId: '00000000-0000-4000-8000-000000000000', name: 'wordpress-main', envelope }),
    ).toThrow(SecretDecryptError);
    expect(() => decryptSecret(ring, { tenantId, name: 'wordpress-other', envelope })).toThrow(SecretDecryptError);
  });

  it('refuses a tampered ciphertext and a key id it does not hold', () => {
    const envelope = encryptSecret(ring, { tenantId, name: 'x', plaintext: 'secret value here' });
    for (let i = 0; i < envelope.data.length; i += 7) {
      const data = Buffer.from(envelope.data);
      data[i] = data[i]! ^ 0x01;
      expect(() => decryptSecret(ring, { tenantId, name: 'x', envelope: { ...envelope, data } })).toThrow(
        SecretDecryptError,
      );
    }
    expect(() => decryptSecret(parseKeyring(`k2:${key()}`), { tenantId, name: 'x', envelope })).toThrow(
      /no longer holds/,
    );
  });

  it('encrypts with the first key and decrypts with any key of the ring', () => {
    const old = `k1:${key()}`;
    const sealedOld = encryptSecret(parseKeyring(old), { tenantId, name: 'x', plaintext: 'under the old key' });
    const both = parseKeyring(`k2:${key()},${old}`)!;
    expect(decryptSecret(both, { tenantId, name: 'x', envelope: sealedOld })).toBe('under the old key');
    expect(encryptSecret(both, { tenantId, name: 'x', plaintext: 'y' }).keyId).toBe('k2');
  });

  it('needs a master key, and config refuses malformed ones naming the variable', () => {
    expect(() => encryptSecret(undefined, { tenantId, name: 'x', plaintext: 'y' })).toThrow(SecretsUnavailableError);
    expect(() => loadConfig({ SECRETS_MASTER_KEYS: 'k1:short' })).toThrow(/SECRETS_MASTER_KEYS/);
    expect(() => loadConfig({ SECRETS_MASTER_KEYS: `k1:${key()},k1:${key()}` })).toThrow(/SECRETS_MASTER_KEYS/);
    expect(loadConfig({ SECRETS_MASTER_KEYS: `k1:${key()},k0:${key()}` }).SECRETS_MASTER_KEYS).toBeDefined();
  });

  it('hints at the last four characters only when the secret can spare them', () => {
    expect(secretHint('abcdefghijkl1234')).toBe('…1234');
    expect(secretHint('short')).toBe('…');
  });
});
