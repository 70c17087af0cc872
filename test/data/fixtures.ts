import type { Application, Card, CardJob, CertificateRecord } from '../../shared/domain/model.js';

/** Small factories of valid records for the repository tests. Every call gets fresh objects. */

let n = 0;
const unique = () => String(++n).padStart(6, '0');

export const application = (over: Partial<Application> = {}): Application => {
  const id = over.id ?? `app-${unique()}`;
  return {
    id,
    version: 1,
    status: 'awaiting_payment',
    arcKey: 'arck-default',
    arcLast4: '6789',
    arcExpiry: '2029-05-31',
    name: 'LEE MEI LING',
    dateOfBirth: '1990-04-01',
    email: 'mei@example.com',
    mailingAddress: { postalCode: '100', city: 'Taipei', line1: 'No. 1, Sec. 1, Zhongxiao W. Rd.' },
    stationId: 'TPE01',
    officerId: 'officer-7',
    createdAt: '2026-03-01T02:00:00.000Z',
    updatedAt: '2026-03-01T02:00:00.000Z',
    paymentDeadline: '2026-03-16T15:59:59.000Z',
    credential: { hash: 'scrypt$N=1024,r=8,p=1$c2FsdA==$aGFzaA==', pepperKeyId: 'pepper-1', failures: 0 },
    fee: {
      currency: 'TWD',
      items: [
        { code: 'card', label: 'IC card', amount: 250 },
        { code: 'postage', label: 'Registered mail', amount: 28 },
      ],
      total: 278,
    },
    ...over,
  };
};

export const card = (over: Partial<Card> = {}): Card => ({
  cardNumber: over.cardNumber ?? `TA${unique().padStart(14, '0')}`,
  version: 1,
  status: 'blank',
  keys: {
    signature: { spki: 'MFkwEwYHKoZIzj0CAQ==', algorithm: 'EC-P256', keyId: '01' },
    encryption: { spki: 'MFkwEwYHKoZIzj0CAg==', algorithm: 'EC-P256', keyId: '02' },
  },
  enrolledAt: '2026-02-01T00:00:00.000Z',
  enrolledBy: 'station-A',
  updatedAt: '2026-02-01T00:00:00.000Z',
  ...over,
});

export const certificate = (over: Partial<CertificateRecord> = {}): CertificateRecord => ({
  serialNumber: over.serialNumber ?? `7f${unique()}a1b2c3d4e5`,
  version: 1,
  issuer: 'issuing-ca-1',
  profile: 'holder-signature',
  status: 'reserved',
  cardNumber: 'TA00000000000001',
  applicationId: 'app-x',
  subjectName: 'LEE MEI LING',
  subjectSerial: '1234567890123456',
  issuedMonth: '2026-03',
  notBefore: '2026-03-02T00:00:00.000Z',
  notAfter: '2031-03-01T23:59:59.000Z',
  reservedAt: '2026-03-02T00:00:00.000Z',
  updatedAt: '2026-03-02T00:00:00.000Z',
  ...over,
});

export const cardJob = (over: Partial<CardJob> = {}): CardJob => ({
  id: over.id ?? `job-${unique()}`,
  version: 1,
  status: 'queued',
  applicationId: 'app-x',
  cardNumber: 'TA00000000000001',
  certificates: { signature: 'MIIB', encryption: 'MIIC', chain: ['MIID'] },
  holder: { name: 'LEE MEI LING', expiry: '2031-03-01' },
  mailingAddress: { postalCode: '100', city: 'Taipei', line1: 'No. 1' },
  attempts: 0,
  createdAt: '2026-03-02T00:00:00.000Z',
  updatedAt: '2026-03-02T00:00:00.000Z',
  ...over,
});

/** `base` plus `minutes`, as an ISO string. */
export const plusMinutes = (base: string, minutes: number): string =>
  new Date(Date.parse(base) + minutes * 60_000).toISOString();
