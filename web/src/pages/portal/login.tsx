import { useState } from 'preact/hooks';
import { Link, useLocation } from 'wouter-preact';
import { ApiError, api, type HolderSession, setHolderSession } from '../../api.js';
import { describeError, Input, Notice, problemText, useForm } from '../../form.js';
import { useT } from '../../i18n.js';
import { checkArcNumber, checkSubscriberCode, type Problem, required } from '../../validation.js';
import { CARD_CLIENT_COMMANDS, CardClientCommand } from './card-client.js';

type Outcome =
  | { kind: 'wrong'; attemptsLeft?: number }
  | { kind: 'locked' }
  | { kind: 'error'; problem: Problem }
  | undefined;

/** A number the API may add to a 401 (attempts left before the lock); shown only when it is there. */
const attemptsLeftOf = (e: ApiError): number | undefined => {
  for (const k of ['attemptsLeft', 'attemptsRemaining', 'remainingAttempts']) {
    const v = e.details[k];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  }
  return undefined;
};

export const HolderLogin = () => {
  const t = useT();
  const [, navigate] = useLocation();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const form = useForm(
    'login',
    { arcNumber: '', subscriberCode: '' },
    { arcNumber: required(checkArcNumber), subscriberCode: required(checkSubscriberCode) },
    { arcNumber: 10 },
  );

  const submit = async (e: Event) => {
    e.preventDefault();
    setOutcome(undefined);
    if (!form.validateAll()) return;
    setBusy(true);
    try {
      const session = await api<HolderSession>('/v1/portal/sessions', {
        body: {
          arcNumber: form.values.arcNumber.trim().toUpperCase(),
          subscriberCode: form.values.subscriberCode.trim(),
        },
      });
      setHolderSession(session);
      navigate('/portal');
    } catch (err) {
      if (err instanceof ApiError && err.status === 423) setOutcome({ kind: 'locked' });
      else if (err instanceof ApiError && err.status === 401) {
        const left = attemptsLeftOf(err);
        setOutcome(left === undefined ? { kind: 'wrong' } : { kind: 'wrong', attemptsLeft: left });
      } else if (!form.showServerError(err)) setOutcome({ kind: 'error', problem: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>{t('login.title')}</h1>
      <p>{t('login.lead')}</p>
      {outcome?.kind === 'wrong' ? (
        <Notice kind="error" id="login-result">
          <p>{t('login.wrong')}</p>
          {outcome.attemptsLeft !== undefined ? (
            <p>{t('login.attemptsLeft', { count: outcome.attemptsLeft })}</p>
          ) : (
            <p>{t('login.wrongHint')}</p>
          )}
        </Notice>
      ) : null}
      {outcome?.kind === 'locked' ? (
        <Notice kind="error" id="login-result">
          <p>
            <strong>{t('login.locked')}</strong>
          </p>
          <p>{t('login.lockedNext')}</p>
          <ul>
            <li>
              {t('login.lockedBeforeActivation')}{' '}
              <Link href="/portal/subscriber-code">{t('login.retrieveLink')}</Link>
            </li>
            <li>
              {t('login.lockedAfterActivation')}
              <CardClientCommand command={CARD_CLIENT_COMMANDS.changeCode} />
            </li>
          </ul>
        </Notice>
      ) : null}
      {outcome?.kind === 'error' ? (
        <Notice kind="error" id="login-result">
          {problemText(outcome.problem)}
        </Notice>
      ) : null}
      <form ref={form.formRef} onSubmit={submit} noValidate class="card-form">
        <Input
          state={form.field('arcNumber')}
          label={t('fields.arcNumber')}
          hint={t('hints.arcNumber')}
          required
          maxLength={10}
          autoCapitalize="characters"
          autoComplete="username"
        />
        <Input
          state={form.field('subscriberCode')}
          label={t('fields.subscriberCode')}
          hint={t('hints.subscriberCode')}
          type="password"
          required
          maxLength={10}
          autoComplete="current-password"
        />
        <button type="submit" class="primary" disabled={busy} aria-busy={busy ? 'true' : 'false'}>
          {busy ? t('form.working') : t('login.submit')}
        </button>
      </form>
      <p>
        <Link href="/portal/subscriber-code">{t('login.forgot')}</Link>
      </p>
    </>
  );
};
