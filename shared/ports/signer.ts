/**
 * The signer port: the only way the product uses a CA key. A caller names a key by reference and gets a
 * signature or the public key back; no key handle, session or key material ever leaves an adapter.
 *
 * Adapters: PKCS#11 (SoftHSM locally, CloudHSM in AWS) and AWS KMS (asymmetric SIGN_VERIFY keys).
 */

/** Algorithms a CA key may have. RSA keys sign with SHA-256; EC keys with SHA-256 (P-256) or SHA-384 (P-384). */
export type CaKeyAlgorithm = 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'EC-P256' | 'EC-P384';

export type SignerKeyRef =
  | {
      provider: 'pkcs11';
      /** Label of the token (HSM partition) holding the key. */
      token: string;
      /** CKA_ID of the key pair, lower-case hex. */
      keyId: string;
      algorithm: CaKeyAlgorithm;
    }
  | {
      provider: 'kms';
      /** KMS key id, ARN or alias ARN. */
      keyId: string;
      algorithm: CaKeyAlgorithm;
    };

export interface Signer {
  /**
   * Signs `tbs` (the DER to-be-signed structure: TBSCertificate, TBSCertList, ResponseData) with the key's
   * signature algorithm (see `signatureAlgorithmOf`) and returns the signature exactly as it goes into the
   * X.509 / CRL / OCSP BIT STRING: the PKCS#1 v1.5 signature for RSA, the DER Ecdsa-Sig-Value for ECDSA.
   * Hashing is the adapter's business (on the host for KMS DIGEST and PKCS#11 CKM_ECDSA).
   * Throws DependencyError when the HSM / KMS fails or is unreachable.
   */
  sign(key: SignerKeyRef, tbs: Uint8Array): Promise<Uint8Array>;
  /** The key's SubjectPublicKeyInfo, DER. */
  publicKey(key: SignerKeyRef): Promise<Uint8Array>;
}

export type SignatureAlgorithmName = 'sha256WithRSAEncryption' | 'ecdsa-with-SHA256' | 'ecdsa-with-SHA384';

/** The signature algorithm a CA key signs with (fixed per key algorithm; no negotiation). */
export const signatureAlgorithmOf = (
  algorithm: CaKeyAlgorithm,
): { name: SignatureAlgorithmName; oid: string; hash: 'sha256' | 'sha384' } => {
  switch (algorithm) {
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      return { name: 'sha256WithRSAEncryption', oid: '1.2.840.113549.1.1.11', hash: 'sha256' };
    case 'EC-P256':
      return { name: 'ecdsa-with-SHA256', oid: '1.2.840.10045.4.3.2', hash: 'sha256' };
    case 'EC-P384':
      return { name: 'ecdsa-with-SHA384', oid: '1.2.840.10045.4.3.3', hash: 'sha384' };
  }
};
