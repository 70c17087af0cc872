import { useEffect, useState } from 'preact/hooks';
import { Link, useLocation } from 'wouter-preact';
import { api, setOfficerSession } from '../../api.js';
import { describeError, Input, Notice, problemText, useForm } from '../../form.js';
import { formatDateTime, formatMoney, useT } from '../../i18n.js';
import {
  checkAddressPart,
  checkAdultBirthDate,
  checkArcNumber,
  checkEmail,
  checkFutureDate,
  checkHolderName,
  type Problem,
  required,
} from '../../validation.js';
import { isSessionProblem, StationNav, useOfficer } from './officer.js';

/** `POST /v1/station/applications` (shared/contracts/station.ts CounterApplicationResponse). */
interface Created {
  applicationId: string;
  subscriberCode: string;
  paymentDeadline?: string;
  fee?: { total?: number };
  warnings?: { code: string; message: string; cardNumber?: string }[];
  replacesCardNumber?: string;
  applicationForm?: { contentType: string; filename: string; base64: string };
}

const pdfUrl = (base64: string): string => {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return URL.createObjectURL(new Blob([bytes], { type: 'application/pdf' }));
};

type AppFields = {
  arcNumber: string;
  arcExpiry: string;
  name: string;
  dateOfBirth: string;
  email: string;
  postalCode: string;
  city: string;
  line1: string;
  line2: string;
  phone: string;
};

const EMPTY: AppFields = {
  arcNumber: '',
  arcExpiry: '',
  name: '',
  dateOfBirth: '',
  email: '',
  postalCode: '',
  city: '',
  line1: '',
  line2: '',
  phone: '',
};

const mapServerField = (f: string): keyof AppFields | undefined => {
  const last = f.split('.').pop() ?? f;
  return (Object.keys(EMPTY) as (keyof AppFields)[]).find((k) => k === last);
};

/** Counter application: the officer types what the ARC and the applicant say, checked as they type. */
export const NewApplication = () => {
  const t = useT();
  const session = useOfficer();
  const [, navigate] = useLocation();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [created, setCreated] = useState<Created>();
  const [pdfHref, setPdfHref] = useState<string>();
  const form = useForm<AppFields>(
    'apply',
    EMPTY,
    {
      arcNumber: required(checkArcNumber),
      arcExpiry: required(checkFutureDate()),
      name: required(checkHolderName),
      dateOfBirth: required(checkAdultBirthDate()),
      email: required(checkEmail),
      postalCode: required(checkAddressPart('postalCode')),
      city: required(checkAddressPart('city')),
      line1: required(checkAddressPart('line1')),
      line2: checkAddressPart('line2'),
      phone: checkAddressPart('phone'),
    },
    { arcNumber: 10, arcExpiry: 10, dateOfBirth: 10 },
  );

  useEffect(() => () => (pdfHref ? URL.revokeObjectURL(pdfHref) : undefined), [pdfHref]);

  if (!session) return null;
  const v = form.values;

  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    if (!form.validateAll()) return;
    setBusy(true);
    try {
      const raw = await api<Record<string, unknown>>('/v1/station/applications', {
        token: session.token,
        body: {
          arcNumber: v.arcNumber.trim().toUpperCase(),
          arcExpiry: v.arcExpiry.trim(),
          name: v.name.trim(),
          dateOfBirth: v.dateOfBirth.trim(),
          email: v.email.trim(),
          mailingAddress: {
            postalCode: v.postalCode.trim(),
            city: v.city.trim(),
            line1: v.line1.trim(),
            ...(v.line2.trim() ? { line2: v.line2.trim() } : {}),
            ...(v.phone.trim() ? { phone: v.phone.trim() } : {}),
          },
        },
      });
      const c = raw as unknown as Created;
      setCreated(c);
      if (c.applicationForm?.base64) setPdfHref(pdfUrl(c.applicationForm.base64));
      form.setValues(EMPTY);
      setTimeout(() => document.getElementById('created-title')?.focus(), 0);
    } catch (err) {
      if (isSessionProblem(err)) {
        setOfficerSession(undefined);
        navigate('/station/sign-in?next=/station/applications/new');
      } else if (!form.showServerError(err, mapServerField)) setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return (
      <>
        <StationNav session={session} />
        <h1 id="created-title" tabIndex={-1}>
          {t('apply.createdTitle')}
        </h1>
        <Notice kind="success" id="created">
          <p>
            {t('apply.applicationId')}
            {t('punct.colon')}
            <strong id="created-id">{created.applicationId}</strong>
          </p>
        </Notice>
        <section class="panel code-panel" aria-labelledby="code-title">
          <h2 id="code-title">{t('apply.codeTitle')}</h2>
          <p class="subscriber-code" id="created-code">
            {created.subscriberCode}
          </p>
          <p class="warning-text">{t('apply.codeOnce')}</p>
        </section>
        {created.replacesCardNumber || created.warnings?.some((w) => w.code === 'live_card') ? (
          <Notice kind="warning" id="created-warning">
            {t('apply.replaces', {
              card:
                created.replacesCardNumber ??
                created.warnings?.find((w) => w.code === 'live_card')?.cardNumber ??
                '',
            })}
          </Notice>
        ) : null}
        <dl class="facts">
          {created.paymentDeadline ? (
            <>
              <dt>{t('order.deadline')}</dt>
              <dd>{formatDateTime(created.paymentDeadline)}</dd>
            </>
          ) : null}
          {typeof created.fee?.total === 'number' ? (
            <>
              <dt>{t('fee.total')}</dt>
              <dd>{formatMoney(created.fee.total)}</dd>
            </>
          ) : null}
        </dl>
        {pdfHref ? (
          <p class="actions">
            <a class="button primary" href={pdfHref} target="_blank" rel="noopener" id="form-open">
              {t('apply.openForm')}
            </a>
            <a
              class="button"
              href={pdfHref}
              download={created.applicationForm?.filename ?? `application-${created.applicationId}.pdf`}
              id="form-download"
            >
              {t('apply.downloadForm')}
            </a>
          </p>
        ) : null}
        <p class="hint">{t('apply.handOver')}</p>
        <p class="actions">
          <button type="button" onClick={() => setCreated(undefined)}>
            {t('apply.another')}
          </button>
          <Link href={`/station/applications?id=${encodeURIComponent(created.applicationId)}`}>
            {t('apply.viewStatus')}
          </Link>
        </p>
      </>
    );
  }

  return (
    <>
      <StationNav session={session} />
      <h1>{t('apply.title')}</h1>
      <p class="lead">{t('apply.lead')}</p>
      {problem ? <Notice kind="error">{problemText(problem)}</Notice> : null}
      <form ref={form.formRef} onSubmit={submit} noValidate class="card-form wide">
        <fieldset>
          <legend>{t('apply.arcTitle')}</legend>
          <Input
            state={form.field('arcNumber')}
            label={t('fields.arcNumber')}
            hint={t('hints.arcNumberOfficer')}
            required
            maxLength={10}
            autoCapitalize="characters"
          />
          <Input state={form.field('arcExpiry')} label={t('fields.arcExpiry')} type="date" required />
          <Input state={form.field('name')} label={t('fields.name')} hint={t('hints.name')} required />
          <Input
            state={form.field('dateOfBirth')}
            label={t('fields.dateOfBirth')}
            hint={t('hints.dateOfBirth')}
            type="date"
            required
          />
        </fieldset>
        <fieldset>
          <legend>{t('apply.contactTitle')}</legend>
          <Input
            state={form.field('email')}
            label={t('fields.email')}
            hint={t('hints.email')}
            type="email"
            inputMode="email"
            required
          />
          <Input
            state={form.field('postalCode')}
            label={t('fields.postalCode')}
            hint={t('hints.postalCode')}
            required
            inputMode="numeric"
            maxLength={6}
          />
          <Input state={form.field('city')} label={t('fields.city')} required />
          <Input state={form.field('line1')} label={t('fields.line1')} required />
          <Input state={form.field('line2')} label={t('fields.line2')} />
          <Input state={form.field('phone')} label={t('fields.phone')} type="tel" />
        </fieldset>
        <button type="submit" class="primary" disabled={busy} aria-busy={busy ? 'true' : 'false'}>
          {busy ? t('form.working') : t('apply.submit')}
        </button>
      </form>
    </>
  );
};
