import { useState } from 'preact/hooks';
import { useSearch } from 'wouter-preact';
import { api } from '../api.js';
import { describeError, Input, Notice, problemText, RadioGroup, useForm } from '../form.js';
import { formatDate, useT } from '../i18n.js';
import {
  checkCardNumber,
  checkEmail,
  checkIssuedMonth,
  checkPrintable,
  checkSerialNumber,
  type Problem,
  required,
} from '../validation.js';

interface PublicCertificate {
  serialNumber: string;
  usage: string;
  status: string;
  notBefore: string;
  notAfter: string;
  expired: boolean;
  issuer: { id: string; name?: string };
  cardNumber: string;
  issuedMonth: string;
  holdSince?: string;
  revokedAt?: string;
  revocationReason?: string;
}

const MODES = ['nameAndMonth', 'email', 'cardNumber', 'serialNumber'] as const;
type Mode = (typeof MODES)[number];

type QueryFields = {
  mode: string;
  name: string;
  issuedMonth: string;
  email: string;
  cardNumber: string;
  serialNumber: string;
};

/** The public status query: anyone, one of four keys, status and validity only (no personal data). */
export const StatusQuery = () => {
  const t = useT();
  const search = new URLSearchParams(useSearch());
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<PublicCertificate[]>();
  const [problem, setProblem] = useState<Problem>();
  const modeIs = (m: Mode) => (check: (v: string) => Problem | undefined) => (v: string, all: QueryFields) =>
    all.mode === m ? check(v) : undefined;
  const initialMode = MODES.find((m) => m === search.get('by')) ?? 'cardNumber';
  const form = useForm<QueryFields>(
    'query',
    {
      mode: initialMode,
      name: '',
      issuedMonth: '',
      email: '',
      cardNumber: search.get('cardNumber') ?? '',
      serialNumber: '',
    },
    {
      name: modeIs('nameAndMonth')(required(checkPrintable(200))),
      issuedMonth: modeIs('nameAndMonth')(required(checkIssuedMonth)),
      email: modeIs('email')(required(checkEmail)),
      cardNumber: modeIs('cardNumber')(required(checkCardNumber)),
      serialNumber: modeIs('serialNumber')(required(checkSerialNumber)),
    },
    { cardNumber: 16, issuedMonth: 7 },
  );
  const v = form.values;

  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    if (!form.validateAll()) return;
    const query: Record<string, string> =
      v.mode === 'nameAndMonth'
        ? { name: v.name.trim(), issuedMonth: v.issuedMonth.trim() }
        : v.mode === 'email'
          ? { email: v.email.trim() }
          : v.mode === 'cardNumber'
            ? { cardNumber: v.cardNumber.trim().toUpperCase() }
            : { serialNumber: v.serialNumber.trim().toLowerCase().replace(/[:\s]/g, '') };
    setBusy(true);
    try {
      const r = await api<{ certificates: PublicCertificate[] }>('/v1/certificates', { query });
      setResults(r.certificates);
    } catch (err) {
      setResults(undefined);
      if (!form.showServerError(err)) setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>{t('query.title')}</h1>
      <p class="lead">{t('query.lead')}</p>
      {problem ? <Notice kind="error">{problemText(problem)}</Notice> : null}
      <form ref={form.formRef} onSubmit={submit} noValidate class="card-form">
        <RadioGroup
          state={form.field('mode')}
          legend={t('query.by')}
          options={MODES.map((m) => ({ value: m, label: t(`query.mode.${m}`) }))}
        />
        {v.mode === 'nameAndMonth' ? (
          <>
            <Input state={form.field('name')} label={t('fields.nameOnCard')} required />
            <Input
              state={form.field('issuedMonth')}
              label={t('fields.issuedMonth')}
              hint={t('hints.issuedMonth')}
              required
              type="month"
              placeholder="2026-11"
            />
          </>
        ) : null}
        {v.mode === 'email' ? (
          <Input state={form.field('email')} label={t('fields.certificateEmail')} type="email" required />
        ) : null}
        {v.mode === 'cardNumber' ? (
          <Input
            state={form.field('cardNumber')}
            label={t('fields.cardNumber')}
            hint={t('hints.cardNumber')}
            required
            maxLength={16}
            autoCapitalize="characters"
          />
        ) : null}
        {v.mode === 'serialNumber' ? (
          <Input
            state={form.field('serialNumber')}
            label={t('fields.serialNumber')}
            hint={t('hints.serialNumber')}
            required
          />
        ) : null}
        <button type="submit" class="primary" disabled={busy} aria-busy={busy ? 'true' : 'false'}>
          {t('query.submit')}
        </button>
      </form>

      <section aria-live="polite" aria-labelledby={results ? 'query-results' : undefined}>
        {results ? (
          <>
            <h2 id="query-results">{t('query.results', { count: results.length })}</h2>
            {results.length === 0 ? (
              <p>{t('query.none')}</p>
            ) : (
              // One card per certificate: readable on a phone, a definition list for screen readers.
              <ul class="cert-list" id="query-table">
                {results.map((c) => (
                  <li key={c.serialNumber} class="panel">
                    <dl class="facts">
                      <dt>{t('query.col.serial')}</dt>
                      <dd>
                        <code class="serial">{c.serialNumber}</code>
                      </dd>
                      <dt>{t('query.col.usage')}</dt>
                      <dd>{t(`usage.${c.usage}`, { defaultValue: c.usage })}</dd>
                      <dt>{t('query.col.status')}</dt>
                      <dd>
                        <span class={`badge ${c.status}`} data-status={c.status}>
                          {t(`certStatus.${c.status}`, { defaultValue: c.status })}
                        </span>
                        {c.expired ? <span class="badge expired">{t('certStatus.expired')}</span> : null}
                        {c.holdSince ? (
                          <div class="muted">{t('query.holdSince', { date: formatDate(c.holdSince) })}</div>
                        ) : null}
                        {c.revokedAt ? (
                          <div class="muted">
                            {t('query.revokedAt', { date: formatDate(c.revokedAt) })}
                            {c.revocationReason
                              ? ` (${t(`reason.${c.revocationReason}`, { defaultValue: c.revocationReason })})`
                              : ''}
                          </div>
                        ) : null}
                      </dd>
                      <dt>{t('query.col.validity')}</dt>
                      <dd>
                        {formatDate(c.notBefore)} – {formatDate(c.notAfter)}
                      </dd>
                      <dt>{t('query.col.card')}</dt>
                      <dd>
                        <code>{c.cardNumber}</code>
                      </dd>
                      {c.issuer.name ? (
                        <>
                          <dt>{t('query.col.issuer')}</dt>
                          <dd>{c.issuer.name}</dd>
                        </>
                      ) : null}
                    </dl>
                  </li>
                ))}
              </ul>
            )}
          </>
        ) : null}
      </section>
    </>
  );
};
