import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { TBSCertList } from '@peculiar/asn1-x509';
import { HolderCertificateTemplate } from '../../shared/ca/certificate.js';
import { crlTbs } from '../../shared/ca/crl.js';
import { derToP1363, generalizedTime, oid, p1363ToDer, time, unsignedInteger } from '../../shared/ca/der.js';
import { inspectPublicKey, sha1, spkiKeyBits } from '../../shared/ca/keys.js';
import { fastLintHolderTbs, lintHolderTbs } from '../../shared/ca/lint.js';
import { encodeDistinguishedName, holderSubject, nameToString } from '../../shared/ca/names.js';
import { decodeOcspGetRequest } from '../../shared/ca/ocsp.js';
import {
  type CertificateProfileSpec,
  defineProfile,
  HOLDER_ENCRYPTION,
  HOLDER_SIGNATURE,
  OID,
  PROFILES,
  pkiUrls,
} from '../../shared/ca/profiles.js';
import { newSerialNumber } from '../../shared/ca/serial.js';
import { ValidationError } from '../../shared/errors.js';
import { buildHierarchy, generateKey, SoftwareSigner } from './helpers.js';

const refusal = (
  spec: Partial<CertificateProfileSpec>,
  base: CertificateProfileSpec = { ...HOLDER_SIGNATURE },
) => {
  try {
    defineProfile({ ...base, ...spec } as CertificateProfileSpec);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).rule;
  }
  return 'accepted';
};

describe('certificate profiles', () => {
  it('the two holder profiles are valid and frozen', () => {
    expect(PROFILES['holder-signature']).toBe(HOLDER_SIGNATURE);
    expect(Object.isFrozen(HOLDER_SIGNATURE)).toBe(true);
    expect(Object.isFrozen(HOLDER_ENCRYPTION.keyUsage.rsa)).toBe(true);
    expect(HOLDER_ENCRYPTION.keyUsage).toEqual({ rsa: ['keyEncipherment'], ec: ['keyAgreement'] });
  });

  it('refuses out-of-policy profiles at definition, naming the rule', () => {
    expect(refusal({ validityYears: 8 })).toBe('profile.validity');
    expect(refusal({ policies: [OID.anyPolicy] })).toBe('profile.policy');
    expect(refusal({ policies: [] })).toBe('profile.policy');
    expect(refusal({ keyAlgorithms: ['RSA-1024' as never] })).toBe('profile.keyAlgorithm');
    expect(
      refusal({ keyUsage: { rsa: ['digitalSignature', 'keyCertSign'], ec: ['digitalSignature'] } }),
    ).toBe('profile.keyUsage.ca');
    expect(
      refusal({
        keyUsage: {
          rsa: ['digitalSignature', 'nonRepudiation', 'keyEncipherment'],
          ec: ['digitalSignature', 'nonRepudiation'],
        },
      }),
    ).toBe('profile.keyUsage.signature');
    expect(
      refusal(
        { keyUsage: { rsa: ['keyEncipherment', 'digitalSignature'], ec: ['keyAgreement'] } },
        { ...HOLDER_ENCRYPTION },
      ),
    ).toBe('profile.keyUsage.encryption');
    expect(
      refusal({ keyUsage: { rsa: ['keyEncipherment'], ec: ['keyEncipherment'] } }, { ...HOLDER_ENCRYPTION }),
    ).toBe('profile.keyUsage.encryption');
    expect(refusal({ keyUsage: { rsa: [], ec: ['digitalSignature'] } })).toBe('profile.keyUsage');
    expect(refusal({ extendedKeyUsage: [OID.ekuServerAuth] })).toBe('profile.eku');
    expect(refusal({ extendedKeyUsage: [OID.anyExtendedKeyUsage] })).toBe('profile.eku');
    expect(refusal({ extendedKeyUsage: ['not.an.oid'] })).toBe('profile.eku');
    expect(refusal({ name: 'holder-other' as never })).toBe('profile.name');
    expect(refusal({ extendedKeyUsage: [OID.ekuEmailProtection] })).toBe('accepted');
  });

  it('builds PKI URLs from the public base URL and refuses unusable ones', () => {
    expect(pkiUrls('https://pki.example.tw/')).toEqual({
      ocsp: 'https://pki.example.tw/pki/ocsp',
      caIssuers: 'https://pki.example.tw/pki/certs/issuing-ca.cer',
      crl: 'https://pki.example.tw/pki/crl/issuing-ca.crl',
      rootCertificate: 'https://pki.example.tw/pki/certs/root-ca.cer',
      rootCrl: 'https://pki.example.tw/pki/crl/root-ca.crl',
    });
    for (const bad of ['ftp://x.tw', 'http://x.tw/?a=1', 'not a url', 'http://u:p@x.tw']) {
      expect(() => pkiUrls(bad)).toThrow(ValidationError);
    }
  });
});

describe('DER and keys', () => {
  it('encodes OIDs, integers and times as X.690 / RFC 5280 require', () => {
    // Expected bytes from `openssl asn1parse -genstr OID:2.16.886.101.0.3.3`.
    expect(Buffer.from(oid('2.16.886.101.0.3.3')).toString('hex')).toBe('060760867665000303');
    expect(Buffer.from(oid('1.2.840.113549.1.1.11')).toString('hex')).toBe('06092a864886f70d01010b');
    expect(Buffer.from(unsignedInteger(Uint8Array.of(0x80, 1))).toString('hex')).toBe('0203008001');
    expect(Buffer.from(unsignedInteger(Uint8Array.of(0, 0, 0x7f))).toString('hex')).toBe('02017f');
    expect(
      Buffer.from(time(new Date('2049-12-31T23:59:59.999Z')))
        .toString('latin1')
        .slice(2),
    ).toBe('491231235959Z');
    expect(
      Buffer.from(time(new Date('2050-01-01T00:00:00Z')))
        .toString('latin1')
        .slice(2),
    ).toBe('20500101000000Z');
    expect(
      Buffer.from(generalizedTime(new Date('2026-11-23T07:25:31.289Z')))
        .toString('latin1')
        .slice(2),
    ).toBe('20261123072531Z');
  });

  it('converts ECDSA signatures between r‖s and DER both ways (P-256 and P-384)', () => {
    for (const [curve, hash, n] of [
      ['prime256v1', 'sha256', 32],
      ['secp384r1', 'sha384', 48],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      for (let i = 0; i < 20; i++) {
        const msg = Buffer.from(`message ${i}`);
        const rs = sign(hash, msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        const der = p1363ToDer(rs);
        expect(verify(hash, msg, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);
        expect(Buffer.from(derToP1363(der, n))).toEqual(rs);
      }
    }
  });

  it('reads card public keys strictly', () => {
    expect(inspectPublicKey(generateKey('RSA-2048').spki)).toMatchObject({
      algorithm: 'RSA-2048',
      kind: 'rsa',
      bits: 2048,
      publicExponent: 65537n,
    });
    expect(inspectPublicKey(generateKey('RSA-3072').spki).algorithm).toBe('RSA-3072');
    expect(inspectPublicKey(generateKey('EC-P256').spki)).toMatchObject({
      algorithm: 'EC-P256',
      kind: 'ec',
      namedCurve: 'prime256v1',
    });
    expect(inspectPublicKey(generateKey('EC-P384').spki).algorithm).toBe('EC-P384');
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    expect(inspectPublicKey(rsa1024)).toMatchObject({ algorithm: undefined, kind: 'rsa', bits: 1024 });
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    expect(inspectPublicKey(ed)).toMatchObject({ algorithm: undefined, kind: 'other' });
    // A point off the curve, a truncated key, trailing bytes.
    const ec = Buffer.from(generateKey('EC-P256').spki);
    ec[ec.length - 1]! ^= 1;
    expect(() => inspectPublicKey(ec)).toThrow('not on the curve');
    expect(() => inspectPublicKey(ec.subarray(0, 40))).toThrow(RangeError);
    expect(() => inspectPublicKey(Buffer.concat([generateKey('EC-P256').spki, Buffer.of(0)]))).toThrow(
      RangeError,
    );
    const k = generateKey('RSA-2048');
    expect(Buffer.from(inspectPublicKey(k.spki).keyIdentifier)).toEqual(
      Buffer.from(sha1(spkiKeyBits(k.spki))),
    );
  });

  it('serial numbers: 32 hex digits, positive, first byte 0x40–0x7f', () => {
    for (let i = 0; i < 200; i++) expect(newSerialNumber()).toMatch(/^[4-7][0-9a-f]{31}$/);
  });

  it('names: holder subject in C, CN, serialNumber order; CA DNs from strings', () => {
    expect(nameToString(holderSubject('林美玲', '0123456789012345'))).toBe(
      'C=TW, CN=林美玲, serialNumber=0123456789012345',
    );
    const dn = 'C=TW, O=ACDC Demo PKI, OU=Alien Citizen Certification Authority, CN=ACDC Root CA - G1';
    expect(nameToString(encodeDistinguishedName(dn))).toBe(dn);
    expect(() => encodeDistinguishedName('C=Taiwan, CN=x')).toThrow(ValidationError);
    expect(() => encodeDistinguishedName('C=TW, E=x@y')).toThrow(ValidationError);
    expect(() => holderSubject('x', '123')).toThrow(ValidationError);
  });

  it('decodes the OCSP GET form (standard and URL-safe base64)', () => {
    const der = Buffer.from([0x30, 0xfb, 0xff, 0x3e]);
    expect(Buffer.from(decodeOcspGetRequest(encodeURIComponent(der.toString('base64')))!)).toEqual(der);
    expect(Buffer.from(decodeOcspGetRequest(der.toString('base64url'))!)).toEqual(der);
    expect(decodeOcspGetRequest('%%%')).toBeUndefined();
    expect(decodeOcspGetRequest('a*b')).toBeUndefined();
  });
});

describe('TBS checks before signing', () => {
  it('both lints pass a template-built TBS and catch a tampered one', async () => {
    const signer = new SoftwareSigner();
    const urls = pkiUrls('http://127.0.0.1:8080');
    const refs = {
      root: signer.add('r', 'RSA-2048'),
      issuing: signer.add('i', 'RSA-2048'),
      ocsp: signer.add('o', 'RSA-2048'),
    };
    const h = await buildHierarchy(signer, refs, new Date('2026-01-01T00:00:00Z'), urls);
    const template = new HolderCertificateTemplate(HOLDER_SIGNATURE, h.issuing, urls);
    const spki = generateKey('RSA-2048').spki;
    const prepared = template.prepare({
      holderName: 'Ana Santos',
      subjectSerial: '1111222233334444',
      email: 'ana@example.tw',
      spki,
    });
    const serial = newSerialNumber();
    const { tbs } = template.build(prepared, serial, new Date('2026-06-01T01:02:03.456Z'));
    const expectation = {
      profile: HOLDER_SIGNATURE,
      ca: h.issuing,
      urls,
      serialNumber: serial,
      subjectName: 'Ana Santos',
      subjectSerial: '1111222233334444',
      email: 'ana@example.tw',
      spki,
      keyKind: 'rsa' as const,
    };
    const fast = (t: Uint8Array, x = expectation) =>
      fastLintHolderTbs(t, {
        ...x,
        shape: template.shapes.rsa,
        keyIdentifier: inspectPublicKey(spki).keyIdentifier,
      });
    expect(lintHolderTbs(tbs, expectation)).toEqual([]);
    expect(fast(tbs)).toEqual([]);

    // Same length, different e-mail: both notice.
    const tampered = Buffer.from(tbs);
    const at = tampered.indexOf('ana@example.tw');
    tampered.write('ann', at, 'latin1');
    expect(lintHolderTbs(tampered, expectation)).toContain('subjectAltName is not the one e-mail');
    expect(fast(tampered)).toContain('subjectAltName e-mail differs');
    // A request for somebody else.
    expect(fast(tbs, { ...expectation, subjectName: 'Ana Santo' })).toContain('subject CN differs');
    expect(lintHolderTbs(tbs, { ...expectation, serialNumber: newSerialNumber() })).toContain(
      'serial number differs from the reservation',
    );
    // Wrong profile: keyUsage differs.
    expect(lintHolderTbs(tbs, { ...expectation, profile: HOLDER_ENCRYPTION })).toEqual(
      expect.arrayContaining(['keyUsage differs from the profile']),
    );
    expect(fast(tbs.subarray(0, tbs.length - 3))[0]).toMatch(/does not decode|not one SEQUENCE/);
  });
});

describe('CRL encoding', () => {
  it('sorts entries, omits reasonCode for unspecified, truncates dates to whole seconds', async () => {
    const signer = new SoftwareSigner();
    const refs = {
      root: signer.add('r', 'EC-P256'),
      issuing: signer.add('i', 'EC-P256'),
      ocsp: signer.add('o', 'EC-P256'),
    };
    const h = await buildHierarchy(signer, refs, new Date('2026-01-01T00:00:00Z'));
    const tbs = crlTbs({
      issuer: h.issuing,
      number: 7n,
      thisUpdate: new Date('2026-11-23T07:25:31.289Z'),
      nextUpdate: new Date('2026-11-24T07:25:31.289Z'),
      entries: [
        {
          serialNumber: '7f00000000000000000000000000000b',
          revocationDate: new Date('2026-11-20T01:02:03.999Z'),
          reason: 'certificateHold',
        },
        {
          serialNumber: '40000000000000000000000000000001',
          revocationDate: new Date('2026-11-21T01:02:03.500Z'),
          reason: 'unspecified',
        },
      ],
    });
    expect(Buffer.from(tbs).toString('latin1')).not.toMatch(/\d{14}\.\d+Z|\d{12}\.\d+Z/);
    const parsed = AsnConvert.parse(tbs, TBSCertList);
    const entries = parsed.revokedCertificates!;
    expect(entries.map((e) => Buffer.from(e.userCertificate).toString('hex'))).toEqual([
      '40000000000000000000000000000001',
      '7f00000000000000000000000000000b',
    ]);
    expect(entries[0]!.crlEntryExtensions).toBeUndefined();
    expect(entries[1]!.crlEntryExtensions![0]!.extnID).toBe('2.5.29.21');
    expect(entries[1]!.revocationDate.getTime().getTime()).toBe(Date.parse('2026-11-20T01:02:03Z'));
    expect(parsed.thisUpdate.getTime().getTime()).toBe(Date.parse('2026-11-23T07:25:31Z'));
  });
});
