import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * A throwaway two-level CA in software (node WebCrypto), only for tests of the card layer and the card
 * station: it certifies card public keys the way the real CA does (two certificates per card, chain
 * issuing CA → root), without any HSM.
 */

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

export interface TestCa {
  root: x509.X509Certificate;
  issuing: x509.X509Certificate;
  /** Issuing CA first, DER. */
  chain: Uint8Array[];
  issue(opts: {
    spki: Uint8Array;
    holder: string;
    role: 'signature' | 'encryption';
    notAfter?: Date;
  }): Promise<Uint8Array>;
}

const serial = () => `7${randomBytes(15).toString('hex')}`;

export const createTestCa = async (): Promise<TestCa> => {
  const notBefore = new Date(Date.now() - 3600_000);
  const rootKeys = (await webcrypto.subtle.generateKey(RSA, false, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'C=TW, O=Test, CN=Test Root CA',
    keys: rootKeys,
    notBefore,
    notAfter: new Date(Date.now() + 20 * 365 * 86400_000),
    signingAlgorithm: RSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const issuingKeys = (await webcrypto.subtle.generateKey(RSA, false, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const issuing = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'C=TW, O=Test, CN=Test Issuing CA',
    issuer: root.subject,
    publicKey: issuingKeys.publicKey,
    signingKey: rootKeys.privateKey,
    notBefore,
    notAfter: new Date(Date.now() + 10 * 365 * 86400_000),
    signingAlgorithm: RSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(issuingKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  return {
    root,
    issuing,
    chain: [new Uint8Array(issuing.rawData), new Uint8Array(root.rawData)],
    issue: async ({ spki, holder, role, notAfter }) => {
      const publicKey = new x509.PublicKey(new Uint8Array(spki));
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: [{ C: ['TW'] }, { CN: [holder] }],
        issuer: issuing.subject,
        publicKey,
        signingKey: issuingKeys.privateKey,
        notBefore,
        notAfter: notAfter ?? new Date(Date.now() + 5 * 365 * 86400_000),
        signingAlgorithm: RSA,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(
            role === 'signature'
              ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation
              : x509.KeyUsageFlags.keyEncipherment,
            true,
          ),
          await x509.AuthorityKeyIdentifierExtension.create(issuingKeys.publicKey),
        ],
      });
      return new Uint8Array(cert.rawData);
    },
  };
};

export const toPem = (der: Uint8Array, label = 'CERTIFICATE'): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
