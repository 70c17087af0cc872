import type { Application, ApplicationTombstone, CertificateRecord } from '../../shared/domain/model.js';
import { api, arcNumber, counterApplication, payInSandbox, waitFor } from '../e2e/harness.js';
import type { TestStack } from './stack.js';

/** The counter → login → sandbox payment path through HTTP, as a station and a holder's browser go. */

let arcSeq = 0;
/** A fresh valid ARC number per call (distinct ranges per test file through `base`). */
export const nextArc = (base: number): string => arcNumber(base + ++arcSeq);

export interface Order {
  applicationId: string;
  subscriberCode: string;
  arcNumber: string;
  email: string;
}

export const applyAtCounter = async (stack: TestStack, arc: string, email: string): Promise<Order> => {
  const r = await api(stack.url, 'POST', '/v1/station/applications', {
    token: await stack.tokens.officer(),
    body: counterApplication(arc, email),
  });
  if (r.status !== 201) throw new Error(`counter application: ${r.status} ${JSON.stringify(r.body)}`);
  return {
    applicationId: r.body.applicationId,
    subscriberCode: r.body.subscriberCode,
    arcNumber: arc,
    email,
  };
};

export const login = async (stack: TestStack, o: Pick<Order, 'arcNumber' | 'subscriberCode'>) => {
  const r = await api(stack.url, 'POST', '/v1/portal/sessions', {
    body: { arcNumber: o.arcNumber, subscriberCode: o.subscriberCode },
  });
  if (r.status !== 201) throw new Error(`login: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
};

/** Starts the payment and pays at the sandbox gateway; returns the gateway's page status. */
export const pay = async (stack: TestStack, o: Order): Promise<number> => {
  const session = await login(stack, o);
  const r = await api(stack.url, 'POST', '/v1/portal/payments', {
    token: session,
    body: {
      mailingAddress: { postalCode: '10048', city: 'Taipei', line1: 'No. 2, Zhongshan S. Rd' },
      invoice: { kind: 'donation', donationCode: '919' },
    },
  });
  if (r.status !== 201) throw new Error(`payment start: ${r.status} ${JSON.stringify(r.body)}`);
  return (await payInSandbox(r.body.checkout)).status;
};

export const application = async (stack: TestStack, id: string): Promise<Application> => {
  const a = (await stack.repo.applications.get(id)) as Application | ApplicationTombstone | undefined;
  if (!a || !('arcKey' in a)) throw new Error(`application ${id} is ${a?.status ?? 'missing'}`);
  return a;
};

export const waitForStatus = (
  stack: TestStack,
  id: string,
  statuses: Application['status'][],
  timeoutMs = 20_000,
): Promise<Application> => {
  let last: Application | undefined;
  return waitFor(
    `application ${id} to be ${statuses.join(' or ')}`,
    async () => {
      last = await application(stack, id);
      return statuses.includes(last.status) ? last : undefined;
    },
    timeoutMs,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; it is ${last?.status} (${last?.failureReason ?? 'no failure reason'})`);
  });
};

/** Every certificate the CA holds for this application (by card, then filtered), with their states. */
export const certificatesOf = async (stack: TestStack, app: Application): Promise<CertificateRecord[]> =>
  app.cardNumber
    ? (await stack.repo.certificates.listByCard(app.cardNumber)).filter((c) => c.applicationId === app.id)
    : [];

/** Audit records of the main chain (every action), oldest first. */
export const auditTrail = async (stack: TestStack) => {
  const head = await stack.repo.audit.head('main');
  return head ? stack.repo.audit.range('main', 1, head.seq) : [];
};
