import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { api } from '../../api.js';
import { describeError, Input, Notice, problemText, useForm } from '../../form.js';
import { useT } from '../../i18n.js';
import { checkArcNumber, checkEmail, type Problem, required } from '../../validation.js';

/**
 * "Retrieve my subscriber code": before activation, the initial code is e-mailed again to the address
 * registered at the counter. The answer is the same whether or not anything matched (nobody can probe
 * who applied), so the page says so.
 */
export const CodeRetrieval = () => {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const form = useForm(
    'retrieve',
    { arcNumber: '', email: '' },
    { arcNumber: required(checkArcNumber), email: required(checkEmail) },
    { arcNumber: 10 },
  );

  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    setDone(false);
    if (!form.validateAll()) return;
    setBusy(true);
    try {
      await api('/v1/portal/subscriber-code/retrieval', {
        body: { arcNumber: form.values.arcNumber.trim().toUpperCase(), email: form.values.email.trim() },
      });
      setDone(true);
    } catch (err) {
      if (!form.showServerError(err)) setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>{t('retrieve.title')}</h1>
      <p class="lead">{t('retrieve.lead')}</p>
      <p>{t('retrieve.afterActivation')}</p>
      {done ? (
        <Notice kind="success" id="retrieve-result">
          {t('retrieve.sent')}
        </Notice>
      ) : null}
      {problem ? <Notice kind="error">{problemText(problem)}</Notice> : null}
      <form ref={form.formRef} onSubmit={submit} noValidate class="card-form">
        <Input
          state={form.field('arcNumber')}
          label={t('fields.arcNumber')}
          hint={t('hints.arcNumber')}
          required
          maxLength={10}
          autoCapitalize="characters"
        />
        <Input
          state={form.field('email')}
          label={t('fields.registeredEmail')}
          type="email"
          inputMode="email"
          required
          autoComplete="email"
        />
        <button type="submit" class="primary" disabled={busy} aria-busy={busy ? 'true' : 'false'}>
          {t('retrieve.submit')}
        </button>
      </form>
      <p>
        <Link href="/portal/card-client">{t('retrieve.cardClientLink')}</Link>
      </p>
    </>
  );
};
