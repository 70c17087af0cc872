import { useState } from 'preact/hooks';
import { useLocation, useSearch } from 'wouter-preact';
import { api, jwtExpiry, runtimeConfig, setOfficerSession } from '../../api.js';
import { describeError, Input, Notice, problemText, useForm } from '../../form.js';
import { useT } from '../../i18n.js';
import type { Problem } from '../../validation.js';

const claimsOf = (token: string): { sub?: string; station_id?: string } => {
  try {
    return JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as {
      sub?: string;
      station_id?: string;
    };
  } catch {
    return {};
  }
};

/**
 * Officer sign-in. In a deployment the token comes from the ministry's identity provider; on the local
 * stack (and only there: `localOfficerSignIn` in /config.json) a button asks the local token issuer.
 */
export const OfficerSignIn = () => {
  const t = useT();
  const [, navigate] = useLocation();
  const next = new URLSearchParams(useSearch()).get('next');
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const local = runtimeConfig().localOfficerSignIn;
  const form = useForm(
    'officer',
    { officerId: 'officer01', stationId: 'TPE01', token: '' },
    {
      officerId: (v) => (/^[A-Za-z0-9._@-]{1,64}$/.test(v.trim()) ? undefined : { key: 'rules.officerId' }),
      stationId: (v) => (/^[A-Z0-9]{2,10}$/.test(v.trim()) ? undefined : { key: 'rules.stationId' }),
      token: (v) => (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(v.trim()) ? undefined : { key: 'rules.token' }),
    },
  );

  const done = (token: string, officerId: string, stationId: string, expiresAt?: string) => {
    setOfficerSession({ token, officerId, stationId, ...(expiresAt ? { expiresAt } : {}) });
    navigate(
      next?.startsWith('/station/') && !next.startsWith('/station/sign-in')
        ? next
        : '/station/applications/new',
    );
  };

  const localSignIn = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    if (!form.validateAll(['officerId', 'stationId'])) return;
    setBusy(true);
    try {
      const officerId = form.values.officerId.trim();
      const stationId = form.values.stationId.trim();
      const r = await api<{ token: string; expiresAt?: string }>('/local/officer-token', {
        body: { officerId, stationId },
      });
      done(r.token, officerId, stationId, r.expiresAt ?? jwtExpiry(r.token));
    } catch (err) {
      if (!form.showServerError(err)) setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const tokenSignIn = (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    if (!form.validateAll(['token'])) return;
    const token = form.values.token.trim();
    const c = claimsOf(token);
    done(token, c.sub ?? '?', c.station_id ?? '?', jwtExpiry(token));
  };

  return (
    <>
      <h1>{t('signIn.title')}</h1>
      <p class="lead">{t('signIn.lead')}</p>
      {problem ? <Notice kind="error">{problemText(problem)}</Notice> : null}
      {local ? (
        <form ref={form.formRef} onSubmit={localSignIn} noValidate class="card-form local-only">
          <p class="badge-local" role="note">
            {t('signIn.localOnly')}
          </p>
          <Input state={form.field('officerId')} label={t('fields.officerId')} required />
          <Input
            state={form.field('stationId')}
            label={t('fields.stationId')}
            hint={t('hints.stationId')}
            required
            autoCapitalize="characters"
          />
          <button type="submit" class="primary" disabled={busy} aria-busy={busy ? 'true' : 'false'}>
            {t('signIn.localSubmit')}
          </button>
        </form>
      ) : null}
      <form onSubmit={tokenSignIn} noValidate class="card-form">
        <h2>{t('signIn.tokenTitle')}</h2>
        <p class="hint">{t('signIn.tokenHint')}</p>
        <Input state={form.field('token')} label={t('fields.token')} required />
        <button type="submit">{t('signIn.tokenSubmit')}</button>
      </form>
    </>
  );
};
