import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Application, Card } from '../../shared/domain/model.js';
import { SUBSCRIBER_CODE_ALPHABET, verifySubscriberCode } from '../../shared/domain/subscriber-code.js';
import { ConflictError, GoneError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { arcKeyOf } from '../../shared/lookup-keys.js';
import { readOutbox, templateOf } from '../mail/fixtures.js';
import { createHarness, HOLDER, OFFICER } from './harness.js';

const run = promisify(execFile);
const pdfText = async (base64: string): Promise<string> => {
  const file = join(await mkdtemp(join(tmpdir(), 'form-')), 'form.pdf');
  await writeFile(file, Buffer.from(base64, 'base64'));
  return (await run('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-'])).stdout;
};

describe('station intake: applyAtCounter', () => {
  it('takes a valid application: code once, form, deadline, fee, hashed code, mail, workflow, audit', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter(HOLDER, OFFICER);

    expect(r.status).toBe('awaiting_payment');
    expect(r.subscriberCode).toMatch(new RegExp(`^[${SUBSCRIBER_CODE_ALPHABET}]{10}$`));
    // Applied on 2026-11-23 (Taipei): day 15 counted from the next day is 2026-12-08, 23:59:59 Taipei.
    expect(r.paymentDeadline).toBe('2026-12-08T15:59:59.999Z');
    expect(r.fee.total).toBe(278);
    expect(r.fee.items.map((i) => [i.code, i.amount])).toEqual([
      ['card', 250],
      ['postage', 28],
    ]);
    expect(r.arcLast4).toBe('0014');
    expect(r.warnings).toEqual([]);

    const form = await pdfText(r.applicationForm.base64);
    expect(form).toContain(r.subscriberCode);
    expect(form).toContain('NT$278');
    expect(form).toContain('2026-12-08 23:59:59');
    expect(form).toContain('******0014');
    expect(form).not.toContain(HOLDER.arcNumber);

    // Stored: only the keyed ARC hash and last four, only the peppered hash and a sealed copy of the code.
    const app = (await h.repo.applications.get(r.applicationId)) as Application;
    expect(app).toMatchObject({
      status: 'awaiting_payment',
      arcKey: await arcKeyOf(h.secrets, HOLDER.arcNumber),
      arcLast4: '0014',
      stationId: 'TPE01',
      officerId: 'officer-7',
      paymentDeadline: r.paymentDeadline,
      email: HOLDER.email,
    });
    const stored = JSON.stringify(app);
    expect(stored).not.toContain(HOLDER.arcNumber);
    expect(stored).not.toContain(r.subscriberCode);
    expect(await verifySubscriberCode(r.subscriberCode, app.credential, h.secrets)).toBe(true);
    expect(app.credential.failures).toBe(0);
    expect(app.credential.sealedInitialCode).toBeDefined();

    expect(h.workflow.started).toEqual([r.applicationId]);

    const mails = await readOutbox(h.outboxDir);
    expect(mails.map(templateOf)).toEqual(['application-received']);
    expect(mails[0]!.text).toContain('2026-12-08 23:59:59');
    expect(mails[0]!.text).toContain('NT$278');
    expect(mails[0]!.raw).not.toContain(r.subscriberCode);
    expect(mails[0]!.text).not.toContain(r.subscriberCode);

    const audit = await h.auditRecords();
    expect(audit.map((a) => a.action)).toEqual(['application.create']);
    expect(audit[0]!.actor).toEqual({ type: 'officer', id: 'officer-7', stationId: 'TPE01' });
    expect(JSON.stringify(audit)).not.toContain(HOLDER.arcNumber);
    expect(JSON.stringify(audit)).not.toContain(r.subscriberCode);
    expect((await h.audit.verify()).ok).toBe(true);
  });

  it.each([
    ['arcNumber', { arcNumber: 'A800000015' }, 'arc.checksum'],
    ['arcNumber', { arcNumber: 'A123456789' }, 'arc.gender_digit'],
    ['arcNumber', { arcNumber: '' }, 'arc.required'],
    ['arcExpiry', { arcExpiry: '2026-11-23' }, 'arc_expiry.expired'],
    ['arcExpiry', { arcExpiry: '2026-02-30' }, 'date.invalid'],
    ['name', { name: '   ' }, 'name.required'],
    ['name', { name: 'A\nB' }, 'name.control_characters'],
    ['dateOfBirth', { dateOfBirth: '2008-11-24' }, 'applicant.age'],
    ['dateOfBirth', { dateOfBirth: '23/11/1990' }, 'date.format'],
    ['email', { email: 'not-an-email' }, undefined],
    [
      'mailingAddress.postalCode',
      { mailingAddress: { ...HOLDER.mailingAddress, postalCode: 'abc' } },
      undefined,
    ],
    ['mailingAddress.line1', { mailingAddress: { ...HOLDER.mailingAddress, line1: '' } }, undefined],
  ])(
    'refuses a bad %s (%j) with a ValidationError naming it, and stores nothing',
    async (field, change, rule) => {
      const h = await createHarness();
      const e = await h.station
        .applyAtCounter({ ...HOLDER, ...change } as typeof HOLDER, OFFICER)
        .catch((x) => x);
      expect(e).toBeInstanceOf(ValidationError);
      expect(e.field).toBe(field);
      if (rule) expect(e.rule).toBe(rule);
      expect(e.message).not.toContain(HOLDER.arcNumber);
      expect(await h.repo.applications.listByArcKey(await arcKeyOf(h.secrets, HOLDER.arcNumber))).toEqual([]);
      expect(await readOutbox(h.outboxDir)).toEqual([]);
      expect(h.workflow.started).toEqual([]);
    },
  );

  it('accepts the applicant on their 18th birthday (Taipei calendar)', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter({ ...HOLDER, dateOfBirth: '2008-11-23' }, OFFICER);
    expect(r.status).toBe('awaiting_payment');
  });

  it('refuses a second application while one is in progress', async () => {
    const h = await createHarness();
    const first = await h.station.applyAtCounter(HOLDER, OFFICER);
    const e = await h.station.applyAtCounter(HOLDER, OFFICER).catch((x) => x);
    expect(e).toBeInstanceOf(ConflictError);
    expect(e.rule).toBe('application.in_progress');
    expect(e.message).toContain(first.applicationId);
  });

  it('warns about a live card and records that the new application replaces it', async () => {
    const h = await createHarness();
    const first = await h.station.applyAtCounter(HOLDER, OFFICER);
    const app = (await h.repo.applications.get(first.applicationId)) as Application;
    const cardNumber = 'AC00000000000123';
    const now = h.clock.now().toISOString();
    const card: Card = {
      cardNumber,
      version: 0,
      status: 'active',
      keys: {
        signature: { spki: 'AA==', algorithm: 'RSA-2048', keyId: '01' },
        encryption: { spki: 'AA==', algorithm: 'RSA-2048', keyId: '02' },
      },
      enrolledAt: now,
      enrolledBy: 'bureau-1',
      applicationId: app.id,
      updatedAt: now,
    };
    await h.repo.cards.create(card);
    await h.repo.applications.save({ ...app, status: 'activated', cardNumber });

    const second = await h.station.applyAtCounter(HOLDER, OFFICER);
    expect(second.replacesCardNumber).toBe(cardNumber);
    expect(second.warnings).toEqual([expect.objectContaining({ code: 'live_card', cardNumber })]);
    const stored = (await h.repo.applications.get(second.applicationId)) as Application;
    expect(stored.replacesCardNumber).toBe(cardNumber);
    const mails = await readOutbox(h.outboxDir);
    const mail = mails.find((m) => m.headers.get('x-acdc-reference') === second.applicationId);
    expect(mail!.text).toContain(cardNumber);
    expect(await pdfText(second.applicationForm.base64)).toContain(cardNumber);
  });

  it('does not store a half application when the form cannot be made', async () => {
    const h = await createHarness();
    const failing = (await import('../../shared/usecases/station.js')).createStationUseCases({
      repo: h.repo,
      audit: h.audit,
      clock: h.clock,
      secrets: h.secrets,
      mailer: h.mailer,
      workflow: h.workflow,
      portalUrl: 'http://x.test',
      scryptLog2N: 10,
      renderForm: async () => {
        throw new Error('printer on fire');
      },
    });
    await expect(failing.applyAtCounter(HOLDER, OFFICER)).rejects.toThrow('printer on fire');
    expect(await h.repo.applications.listByArcKey(await arcKeyOf(h.secrets, HOLDER.arcNumber))).toEqual([]);
    expect(await h.auditRecords()).toEqual([]);
  });
});

describe('station: status and cancellation', () => {
  it('shows the status to an officer, audited', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter(HOLDER, OFFICER);
    const s = await h.station.getApplicationStatus(r.applicationId, { id: 'officer-9', stationId: 'KHH02' });
    expect(s).toMatchObject({ applicationId: r.applicationId, status: 'awaiting_payment', arcLast4: '0014' });
    const audit = await h.auditRecords();
    expect(audit.at(-1)).toMatchObject({
      action: 'application.view',
      actor: { type: 'officer', id: 'officer-9', stationId: 'KHH02' },
    });
    await expect(h.station.getApplicationStatus('A20261123-7K3M9QXZ', OFFICER)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('cancels before payment: tombstone without personal data, the waiting execution resumed, idempotent', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter(HOLDER, OFFICER);
    const token = await h.workflow.park(r.applicationId);

    const c = await h.station.cancelApplication(r.applicationId, OFFICER);
    expect(c).toMatchObject({ applicationId: r.applicationId, status: 'cancelled', stationId: 'TPE01' });
    expect(c.name).toBeUndefined();
    const stored = await h.repo.applications.get(r.applicationId);
    const json = JSON.stringify(stored);
    for (const personal of [HOLDER.name, HOLDER.email, HOLDER.dateOfBirth, '0014', 'arcKey', 'credential'])
      expect(json).not.toContain(personal);
    expect(h.workflow.successes).toEqual([
      { token, output: { applicationId: r.applicationId, status: 'cancelled' } },
    ]);

    expect(await h.station.cancelApplication(r.applicationId, OFFICER)).toMatchObject({
      status: 'cancelled',
    });
    expect(h.workflow.successes).toHaveLength(1);
    const actions = (await h.auditRecords()).map((a) => a.action);
    expect(actions.filter((a) => a === 'application.cancel')).toHaveLength(1);

    // A cancelled holder may apply again.
    await expect(h.station.applyAtCounter(HOLDER, OFFICER)).resolves.toMatchObject({
      status: 'awaiting_payment',
    });
  });

  it('refuses to cancel a paid application, and a purged one is gone', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter(HOLDER, OFFICER);
    const app = (await h.repo.applications.get(r.applicationId)) as Application;
    await h.repo.applications.save({ ...app, status: 'paid' });
    await expect(h.station.cancelApplication(r.applicationId, OFFICER)).rejects.toMatchObject({
      rule: 'application.not_cancellable',
    });

    const other = await h.station.applyAtCounter({ ...HOLDER, arcNumber: 'A900000016' }, OFFICER);
    const o = (await h.repo.applications.get(other.applicationId)) as Application;
    await h.repo.applications.replaceWithTombstone(o, {
      id: o.id,
      status: 'purged',
      createdAt: o.createdAt,
      endedAt: h.clock.now().toISOString(),
      stationId: o.stationId,
    });
    await expect(h.station.cancelApplication(o.id, OFFICER)).rejects.toBeInstanceOf(GoneError);
  });
});
