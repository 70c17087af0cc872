import { useEffect, useState } from 'preact/hooks';
import { useLocation, useSearch } from 'wouter-preact';
import { api, setOfficerSession } from '../../api.js';
import { describeError, Input, Notice, problemText, useForm } from '../../form.js';
import { formatDateTime, formatMoney, useT } from '../../i18n.js';
import { type PortalOrder, readOrder } from '../../portal-model.js';
import type { Problem } from '../../validation.js';
import { isSessionProblem, StationNav, useOfficer } from './officer.js';

/** Look up an application by its id (printed on the form): status, payment, card, mailing. */
export const ApplicationLookup = () => {
  const t = useT();
  const session = useOfficer();
  const [, navigate] = useLocation();
  const initialId = new URLSearchParams(useSearch()).get('id') ?? '';
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [found, setFound] = useState<{ order: PortalOrder; raw: Record<string, unknown> }>();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [cancelled, setCancelled] = useState(false);
  const form = useForm(
    'lookup',
    { applicationId: initialId },
    {
      applicationId: (v) =>
        /^[A-Za-z0-9_-]{4,64}$/.test(v.trim()) ? undefined : { key: 'rules.applicationId' },
    },
  );

  const lookup = async (id: string, cancel = false) => {
    if (!session) return;
    setProblem(undefined);
    setFound(undefined);
    setCancelled(false);
    setConfirmCancel(false);
    setBusy(true);
    try {
      const path = `/v1/station/applications/${encodeURIComponent(id)}${cancel ? '/cancellation' : ''}`;
      const raw = await api<Record<string, unknown>>(path, {
        token: session.token,
        ...(cancel ? { method: 'POST' as const } : {}),
      });
      if (cancel) setCancelled(true);
      setFound({ order: readOrder(raw), raw });
    } catch (err) {
      if (isSessionProblem(err)) {
        setOfficerSession(undefined);
        navigate(`/station/sign-in?next=${encodeURIComponent(`/station/applications?id=${id}`)}`);
      } else if (!form.showServerError(err, (f) => (f === 'id' ? 'applicationId' : undefined)))
        setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (initialId && session) void lookup(initialId);
  }, []);

  if (!session) return null;
  const submit = (e: Event) => {
    e.preventDefault();
    if (form.validateAll()) void lookup(form.values.applicationId.trim());
  };
  const o = found?.order;
  const arcLast4 = found && typeof found.raw.arcLast4 === 'string' ? found.raw.arcLast4 : undefined;
  return (
    <>
      <StationNav session={session} />
      <h1>{t('lookup.title')}</h1>
      {problem ? <Notice kind="error">{problemText(problem)}</Notice> : null}
      <form ref={form.formRef} onSubmit={submit} noValidate class="card-form inline-form">
        <Input state={form.field('applicationId')} label={t('fields.applicationId')} required />
        <button type="submit" class="primary" disabled={busy} aria-busy={busy ? 'true' : 'false'}>
          {t('lookup.submit')}
        </button>
      </form>
      {o ? (
        <section class="panel" aria-labelledby="lookup-result" aria-live="polite">
          <h2 id="lookup-result">
            {t('lookup.result')} <code>{o.applicationId}</code>
          </h2>
          <dl class="facts">
            <dt>{t('order.statusNow')}</dt>
            <dd>
              <strong id="lookup-status" data-status={o.status}>
                {t(`status.${o.status}`, { defaultValue: o.status })}
              </strong>
            </dd>
            {o.name ? (
              <>
                <dt>{t('fields.name')}</dt>
                <dd>{o.name}</dd>
              </>
            ) : null}
            {arcLast4 ? (
              <>
                <dt>{t('fields.arcNumber')}</dt>
                <dd>******{arcLast4}</dd>
              </>
            ) : null}
            {o.createdAt ? (
              <>
                <dt>{t('lookup.createdAt')}</dt>
                <dd>{formatDateTime(o.createdAt)}</dd>
              </>
            ) : null}
            {o.paymentDeadline && o.status === 'awaiting_payment' ? (
              <>
                <dt>{t('order.deadline')}</dt>
                <dd>{formatDateTime(o.paymentDeadline)}</dd>
              </>
            ) : null}
            {o.fee.total ? (
              <>
                <dt>{t('fee.total')}</dt>
                <dd>{formatMoney(o.fee.total)}</dd>
              </>
            ) : null}
            {o.paidAt ? (
              <>
                <dt>{t('lookup.paidAt')}</dt>
                <dd>{formatDateTime(o.paidAt)}</dd>
              </>
            ) : null}
            {o.cardNumber ? (
              <>
                <dt>{t('fields.cardNumber')}</dt>
                <dd>
                  <code>{o.cardNumber}</code>
                </dd>
              </>
            ) : null}
            {o.trackingNumber ? (
              <>
                <dt>{t('order.tracking')}</dt>
                <dd>{o.trackingNumber}</dd>
              </>
            ) : null}
          </dl>
          {cancelled ? (
            <Notice kind="success" id="cancel-result">
              {t('lookup.cancelled')}
            </Notice>
          ) : null}
          {o.status === 'awaiting_payment' ? (
            confirmCancel ? (
              <Notice kind="warning" id="cancel-confirm">
                <p>{t('lookup.cancelConfirm')}</p>
                <button type="button" class="danger" onClick={() => void lookup(o.applicationId, true)}>
                  {t('lookup.cancelYes')}
                </button>
                <button type="button" onClick={() => setConfirmCancel(false)}>
                  {t('form.cancel')}
                </button>
              </Notice>
            ) : (
              <button type="button" onClick={() => setConfirmCancel(true)}>
                {t('lookup.cancel')}
              </button>
            )
          ) : null}
        </section>
      ) : null}
    </>
  );
};
