import { generateKeyPairSync, sign } from 'node:crypto';
import { buildCsr, csrToPem } from '../../shared/card/csr.js';
import { arcNumber, counterApplication } from '../e2e/harness.js';
import type { Example } from './bad-input.js';

export const CARD = 'TA00000000000017';
const SERIAL = '5f1d3a9c0b7e42a18c6d';
const JOB = 'J20261123-ABCDEFGHJK';
const HEX64 = 'ab'.repeat(32);

/** A real PKCS#10 request (proof of possession) for a fresh EC key, as a card makes for enrolment. */
const csrFor = async (cardNumber: string): Promise<string> => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const der = await buildCsr({
    commonName: cardNumber,
    spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    algorithm: 'EC-P256',
    sign: async (tbs) => new Uint8Array(sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })),
  });
  return csrToPem(der);
};
const CSR = '(a real one: withRealCsrs)';

/** One valid request per route (the first test checks each against the route's zod schemas). */
export const EXAMPLES: Record<string, Example> = {
  'health.get': {},
  'station.applyAtCounter': { body: counterApplication(arcNumber(9_100_001), 'fuzz@example.com') },
  'station.getApplication': { params: { id: 'A20261123-ABCDEFGH' } },
  'station.cancelApplication': { params: { id: 'A20261123-ABCDEFGH' } },
  'station.revokeCertificate': { params: { serial: SERIAL }, body: { reason: 'keyCompromise' } },
  'portal.createSession': { body: { arcNumber: arcNumber(9_100_002), subscriberCode: 'K7M4HT9C' } },
  'portal.deleteSession': {},
  'portal.getOrder': {},
  'portal.startPayment': {
    body: {
      mailingAddress: { postalCode: '10048', city: 'Taipei', line1: 'No. 2, Zhongshan S. Rd', line2: '5F' },
      invoice: { kind: 'company', taxId: '04595257', title: 'ACME Ltd.' },
    },
  },
  'portal.activateCard': {
    params: { cardNumber: CARD },
    body: { subscriberCode: 'K7M4HT9C', challenge: 'a'.repeat(32) },
  },
  'portal.unblockPin': {
    params: { cardNumber: CARD },
    body: { subscriberCode: 'K7M4HT9C', challenge: 'b'.repeat(32) },
  },
  'portal.retrieveSubscriberCode': { body: { arcNumber: arcNumber(9_100_003), email: 'who@example.com' } },
  'portal.subscriberCodeChallenge': { body: { cardNumber: CARD } },
  'portal.changeSubscriberCode': {
    body: {
      cardNumber: CARD,
      nonce: 'n'.repeat(43),
      signature: 'c2lnbmF0dXJl',
      newSubscriberCode: 'NEWCODE9',
    },
  },
  'portal.suspendCard': { params: { cardNumber: CARD }, body: { subscriberCode: 'K7M4HT9C' } },
  'portal.resumeCard': { params: { cardNumber: CARD }, body: { subscriberCode: 'K7M4HT9C' } },
  'portal.changeEmail': {
    params: { cardNumber: CARD },
    body: { subscriberCode: 'K7M4HT9C', email: 'new@example.com' },
  },
  'portal.cardCertificates': { params: { cardNumber: CARD } },
  'payments.callback': {
    body: {
      MerchantID: '3002607',
      MerchantTradeNo: 'ACDC0000000001',
      RtnCode: '1',
      TradeAmt: '278',
      CheckMacValue: 'F'.repeat(64),
    },
  },
  'query.certificates': { query: { cardNumber: CARD } },
  'cardstation.enroll': {
    body: {
      batch: 'fuzz-1',
      cards: [
        {
          cardNumber: CARD,
          keys: {
            signature: { csr: CSR, algorithm: 'EC-P256', keyId: '01' },
            encryption: { csr: CSR, algorithm: 'EC-P256', keyId: '02' },
          },
        },
      ],
    },
  },
  'cardstation.lease': { body: { agentId: 'agent-1', jobId: JOB } },
  'cardstation.heartbeat': { params: { id: JOB }, body: { agentId: 'agent-1' } },
  'cardstation.complete': {
    params: { id: JOB },
    body: {
      agentId: 'agent-1',
      written: {
        signature: { serialNumber: SERIAL, sha256: HEX64 },
        encryption: { serialNumber: '6a2b3c4d5e6f70819a2b', sha256: HEX64 },
        chain: [HEX64, HEX64],
      },
      adminKeyCheck: '0123456789abcdef',
    },
  },
  'cardstation.mailed': {
    params: { id: JOB },
    body: { agentId: 'agent-1', trackingNumber: 'RR123456785TW' },
  },
  'cardstation.failure': {
    params: { id: JOB },
    body: { agentId: 'agent-1', reason: 'damaged', detail: 'bent in the printer' },
  },
  'ops.suspendCard': {
    body: { cardNumber: CARD, caseReference: 'FAX-2026-0001', reason: 'card lost, holder called' },
  },
  'ops.exportAudit': {
    query: { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', limit: '10' },
  },
  'pki.getCrl': { params: { file: 'issuing-ca.crl' } },
  'pki.getCaCertificate': { params: { file: 'root-ca.cer' } },
  'pki.ocspPost': { body: new Uint8Array([0x30, 0x00]) },
  'pki.ocspGet': { params: { request: 'MEIwQDA%2BMDwwOjAJBgUrDgMCGgUABBQ' } },
};

/** Puts real PKCS#10 requests (fresh EC keys) into the enrolment example. */
export const withRealCsrs = async (): Promise<void> => {
  const keys = (
    EXAMPLES['cardstation.enroll']!.body as { cards: { keys: Record<string, { csr: string }> }[] }
  ).cards[0]!.keys;
  keys.signature!.csr = await csrFor(CARD);
  keys.encryption!.csr = await csrFor(CARD);
};
