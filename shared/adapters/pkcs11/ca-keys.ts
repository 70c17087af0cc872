import { EC_PARAMS, ecSpki, rsaSpki } from '../../ca/keys.js';
import type { CaKeyAlgorithm } from '../../ports/signer.js';
import { ecPointFromAttribute, findObjects, type Handle, type PKCS11, pkcs11js } from './module.js';

/**
 * CA key pairs on a PKCS#11 token (SoftHSM locally, CloudHSM in AWS): generated on the token,
 * private key sensitive and never extractable. Used by the key ceremony and by the PKCS#11 signer; nothing
 * here ever reads private key material (the token refuses anyway).
 */

export interface KeyPairHandles {
  privateKey: Handle;
  publicKey: Handle;
}

const RSA_BITS: Partial<Record<CaKeyAlgorithm, number>> = {
  'RSA-2048': 2048,
  'RSA-3072': 3072,
  'RSA-4096': 4096,
};

export const isRsa = (a: CaKeyAlgorithm): boolean => a.startsWith('RSA-');

export const generateCaKeyPair = (
  p: PKCS11,
  session: Handle,
  opts: { algorithm: CaKeyAlgorithm; id: Buffer; label: string },
): KeyPairHandles => {
  const common = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_ID, value: opts.id },
    { type: pkcs11js.CKA_LABEL, value: opts.label },
  ];
  const privateTemplate = [
    ...common,
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SIGN, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_DECRYPT, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
  ];
  const bits = RSA_BITS[opts.algorithm];
  if (bits) {
    return p.C_GenerateKeyPair(
      session,
      { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [
        ...common,
        { type: pkcs11js.CKA_VERIFY, value: true },
        { type: pkcs11js.CKA_ENCRYPT, value: false },
        { type: pkcs11js.CKA_MODULUS_BITS, value: bits },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
      privateTemplate,
    );
  }
  const params = EC_PARAMS[opts.algorithm as 'EC-P256' | 'EC-P384'];
  return p.C_GenerateKeyPair(
    session,
    { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
    [
      ...common,
      { type: pkcs11js.CKA_VERIFY, value: true },
      { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from(params) },
    ],
    privateTemplate,
  );
};

export const findKey = (p: PKCS11, session: Handle, cls: number, id: Buffer): Handle | undefined =>
  findObjects(p, session, [
    { type: pkcs11js.CKA_CLASS, value: cls },
    { type: pkcs11js.CKA_ID, value: id },
  ])[0];

export const findKeyPair = (p: PKCS11, session: Handle, id: Buffer): KeyPairHandles | undefined => {
  const privateKey = findKey(p, session, pkcs11js.CKO_PRIVATE_KEY, id);
  const publicKey = findKey(p, session, pkcs11js.CKO_PUBLIC_KEY, id);
  return privateKey && publicKey ? { privateKey, publicKey } : undefined;
};

/** The SubjectPublicKeyInfo (DER) of a public key object. */
export const publicKeySpki = (p: PKCS11, session: Handle, publicKey: Handle): Uint8Array => {
  const [type] = p.C_GetAttributeValue(session, publicKey, [{ type: pkcs11js.CKA_KEY_TYPE }]);
  const keyType = (type!.value as Buffer).readUInt32LE(0); // CK_ULONG, little-endian on our platforms
  if (keyType === pkcs11js.CKK_RSA) {
    const [modulus, exponent] = p.C_GetAttributeValue(session, publicKey, [
      { type: pkcs11js.CKA_MODULUS },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT },
    ]);
    return rsaSpki(modulus!.value as Buffer, exponent!.value as Buffer);
  }
  if (keyType === pkcs11js.CKK_EC) {
    const [params, point] = p.C_GetAttributeValue(session, publicKey, [
      { type: pkcs11js.CKA_EC_PARAMS },
      { type: pkcs11js.CKA_EC_POINT },
    ]);
    return ecSpki(params!.value as Buffer, ecPointFromAttribute(point!.value as Buffer));
  }
  throw new Error(`unsupported PKCS#11 key type ${keyType}`);
};

/** Private-key protection attributes, for the ceremony record and tests. */
export const privateKeyProtection = (
  p: PKCS11,
  session: Handle,
  privateKey: Handle,
): { sensitive: boolean; extractable: boolean; neverExtractable: boolean; local: boolean } => {
  const attrs = p.C_GetAttributeValue(session, privateKey, [
    { type: pkcs11js.CKA_SENSITIVE },
    { type: pkcs11js.CKA_EXTRACTABLE },
    { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
    { type: pkcs11js.CKA_LOCAL },
  ]);
  const flag = (i: number) => (attrs[i]!.value as Buffer)[0] === 1;
  return { sensitive: flag(0), extractable: flag(1), neverExtractable: flag(2), local: flag(3) };
};

/** Stores a certificate next to its key (same CKA_ID); SoftHSM requires CKA_SUBJECT. */
export const storeCertificate = (
  p: PKCS11,
  session: Handle,
  opts: { id: Buffer; label: string; subject: Uint8Array; der: Uint8Array },
): Handle =>
  p.C_CreateObject(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
    { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_ID, value: opts.id },
    { type: pkcs11js.CKA_LABEL, value: opts.label },
    { type: pkcs11js.CKA_SUBJECT, value: Buffer.from(opts.subject) },
    { type: pkcs11js.CKA_VALUE, value: Buffer.from(opts.der) },
  ]);

export const findCertificates = (p: PKCS11, session: Handle, id: Buffer): Buffer[] =>
  findObjects(p, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
    { type: pkcs11js.CKA_ID, value: id },
  ]).map((h) => p.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_VALUE }])[0]!.value as Buffer);
