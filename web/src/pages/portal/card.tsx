import { useState } from 'preact/hooks';
import { Link, useSearch } from 'wouter-preact';
import { ApiError, api } from '../../api.js';
import { describeError, Input, Notice, problemText, RadioGroup, useForm } from '../../form.js';
import { formatDateTime, useT } from '../../i18n.js';
import { checkCardNumber, checkSubscriberCode, type Problem, required } from '../../validation.js';

interface CardState {
  cardNumber: string;
  status: string;
  changed: boolean;
  suspendedAt?: string;
  certificates: { serialNumber: string; profile: string; status: string }[];
}

/**
 * Suspension (certificates on hold, e.g. a card mislaid) and resumption, with the card number and the
 * subscriber code. Revocation is not here: it is done in person at a station.
 */
export const CardActions = () => {
  const t = useT();
  const search = new URLSearchParams(useSearch());
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<CardState>();
  const [problem, setProblem] = useState<Problem>();
  const form = useForm(
    'card',
    { action: 'suspension', cardNumber: search.get('card') ?? '', subscriberCode: '' },
    { cardNumber: required(checkCardNumber), subscriberCode: required(checkSubscriberCode) },
    { cardNumber: 16 },
  );

  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    setResult(undefined);
    if (!form.validateAll()) return;
    setBusy(true);
    const cardNumber = form.values.cardNumber.trim().toUpperCase();
    try {
      setResult(
        await api<CardState>(`/v1/portal/cards/${encodeURIComponent(cardNumber)}/${form.values.action}`, {
          body: { subscriberCode: form.values.subscriberCode.trim() },
        }),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 423) setProblem({ key: 'card.locked' });
      else if (err instanceof ApiError && err.status === 401) setProblem({ key: 'card.wrongCode' });
      else if (!form.showServerError(err)) setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>{t('card.title')}</h1>
      <p class="lead">{t('card.lead')}</p>
      <p>{t('card.revocationNote')}</p>
      {problem ? (
        <Notice kind="error">
          <p>{problemText(problem)}</p>
          {problem.key === 'card.locked' ? (
            <p>
              <Link href="/portal/card-client">{t('card.lockedHelp')}</Link>
            </p>
          ) : null}
        </Notice>
      ) : null}
      {result ? (
        <Notice kind="success" id="card-result">
          <p>
            {t(result.changed ? 'card.changed' : 'card.unchanged', {
              card: result.cardNumber,
              status: t(`cardStatus.${result.status}`, { defaultValue: result.status }),
            })}
          </p>
          {result.suspendedAt && result.status === 'suspended' ? (
            <p>{t('card.suspendedAt', { date: formatDateTime(result.suspendedAt) })}</p>
          ) : null}
          <ul>
            {result.certificates.map((c) => (
              <li key={c.serialNumber}>
                {t(`profile.${c.profile}`, { defaultValue: c.profile })}
                {t('punct.colon')}
                <code class="serial">{c.serialNumber}</code> —{' '}
                {t(`certStatus.${c.status}`, { defaultValue: c.status })}
              </li>
            ))}
          </ul>
        </Notice>
      ) : null}
      <form ref={form.formRef} onSubmit={submit} noValidate class="card-form">
        <RadioGroup
          state={form.field('action')}
          legend={t('card.actionLegend')}
          options={[
            { value: 'suspension', label: t('card.suspend') },
            { value: 'resumption', label: t('card.resume') },
          ]}
        />
        <Input
          state={form.field('cardNumber')}
          label={t('fields.cardNumber')}
          hint={t('hints.cardNumber')}
          required
          maxLength={16}
          autoCapitalize="characters"
        />
        <Input
          state={form.field('subscriberCode')}
          label={t('fields.subscriberCode')}
          type="password"
          required
          maxLength={10}
          autoComplete="current-password"
        />
        <button type="submit" class="primary" disabled={busy} aria-busy={busy ? 'true' : 'false'}>
          {form.values.action === 'suspension' ? t('card.suspendSubmit') : t('card.resumeSubmit')}
        </button>
      </form>
    </>
  );
};
