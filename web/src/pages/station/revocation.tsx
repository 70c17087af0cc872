import { useState } from 'preact/hooks';
import { useLocation, useSearch } from 'wouter-preact';
import { ApiError, api, setOfficerSession } from '../../api.js';
import { describeError, Input, Notice, problemText, Select, useForm } from '../../form.js';
import { useT } from '../../i18n.js';
import { checkSerialNumber, type Problem, required } from '../../validation.js';
import { isSessionProblem, StationNav, useOfficer } from './officer.js';

/** The reasons a station may give (RFC 5280 CRLReason), as the API accepts them. */
export const REVOCATION_REASONS = [
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
  'unspecified',
] as const;

interface Revoked {
  cardNumber: string;
  status: string;
  revoked: string[];
  certificates: { serialNumber: string; status: string; profile: string }[];
}

/** Revocation in person at the counter: a lost card, a holder leaving Taiwan, … Final. */
export const Revocation = () => {
  const t = useT();
  const session = useOfficer();
  const [, navigate] = useLocation();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [result, setResult] = useState<Revoked>();
  const [confirming, setConfirming] = useState(false);
  const form = useForm(
    'revoke',
    { serialNumber: new URLSearchParams(useSearch()).get('serial') ?? '', reason: 'keyCompromise' },
    { serialNumber: required(checkSerialNumber) },
  );
  if (!session) return null;

  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    setResult(undefined);
    if (!form.validateAll()) return;
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setBusy(true);
    const serial = form.values.serialNumber.trim().toLowerCase().replace(/[:\s]/g, '');
    try {
      setResult(
        await api<Revoked>(`/v1/station/certificates/${encodeURIComponent(serial)}/revocation`, {
          token: session.token,
          body: { reason: form.values.reason },
        }),
      );
      setConfirming(false);
    } catch (err) {
      setConfirming(false);
      if (isSessionProblem(err)) {
        setOfficerSession(undefined);
        navigate('/station/sign-in?next=/station/revocation');
      } else if (err instanceof ApiError && err.status === 409) setProblem(describeError(err));
      else if (
        !form.showServerError(err, (f) =>
          f === 'serial' || f === 'serialNumber' ? 'serialNumber' : undefined,
        )
      )
        setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <StationNav session={session} />
      <h1>{t('revoke.title')}</h1>
      <p class="lead">{t('revoke.lead')}</p>
      {problem ? <Notice kind="error">{problemText(problem)}</Notice> : null}
      {result ? (
        <Notice kind="success" id="revoke-result">
          <p>{t('revoke.done', { card: result.cardNumber })}</p>
          <ul>
            {result.certificates.map((c) => (
              <li key={c.serialNumber}>
                <code>{c.serialNumber}</code> — {t(`certStatus.${c.status}`, { defaultValue: c.status })}
              </li>
            ))}
          </ul>
        </Notice>
      ) : null}
      <form ref={form.formRef} onSubmit={submit} noValidate class="card-form">
        <Input
          state={form.field('serialNumber')}
          label={t('fields.serialNumber')}
          hint={t('hints.serialNumber')}
          required
        />
        <Select
          state={form.field('reason')}
          label={t('fields.reason')}
          options={REVOCATION_REASONS.map((r) => ({ value: r, label: t(`reason.${r}`) }))}
        />
        {confirming ? (
          <Notice kind="warning" id="revoke-confirm">
            {t('revoke.confirm')}
          </Notice>
        ) : null}
        <button
          type="submit"
          class={confirming ? 'danger' : 'primary'}
          disabled={busy}
          aria-busy={busy ? 'true' : 'false'}
        >
          {confirming ? t('revoke.confirmSubmit') : t('revoke.submit')}
        </button>
        {confirming ? (
          <button type="button" onClick={() => setConfirming(false)}>
            {t('form.cancel')}
          </button>
        ) : null}
      </form>
    </>
  );
};
