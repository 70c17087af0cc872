import { useCallback, useEffect, useState } from 'preact/hooks';
import { Link, useLocation } from 'wouter-preact';
import { ApiError, api, holderSession, setHolderSession } from '../../api.js';
import { describeError, Notice, problemText } from '../../form.js';
import { formatDateTime, formatMoney, useT } from '../../i18n.js';
import { ORDER_STEPS, type PortalOrder, readOrder, timeLeft } from '../../portal-model.js';
import type { Problem } from '../../validation.js';

const pad = (n: number) => String(n).padStart(2, '0');

/** Ticks once a second while mounted. */
const useNow = () => {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  return now;
};

const Countdown = ({ deadline }: { deadline: string }) => {
  const t = useT();
  const left = timeLeft(deadline, useNow());
  if (left.passed) return <p class="countdown passed">{t('order.deadlinePassed')}</p>;
  return (
    // A timer is not announced every second (aria-live off); the deadline itself is in the text above.
    <p class={`countdown${left.days < 2 ? ' urgent' : ''}`} role="timer" aria-live="off">
      {t('order.timeLeft', {
        count: left.days,
        time: `${pad(left.hours)}:${pad(left.minutes)}:${pad(left.seconds)}`,
      })}
    </p>
  );
};

const Steps = ({ status }: { status: string }) => {
  const t = useT();
  const current = ORDER_STEPS.indexOf(status as (typeof ORDER_STEPS)[number]);
  return (
    <ol class="steps" aria-label={t('order.progress')}>
      {ORDER_STEPS.map((s, i) => (
        <li
          key={s}
          class={i < current ? 'done' : i === current ? 'current' : 'todo'}
          aria-current={i === current ? 'step' : undefined}
        >
          <span class="dot" aria-hidden="true">
            {i < current ? '✓' : i + 1}
          </span>
          <span>{t(`status.${s}`)}</span>
          {i < current ? <span class="sr-only"> ({t('order.stepDone')})</span> : null}
        </li>
      ))}
    </ol>
  );
};

/** Statuses after payment that move on their own: the page checks again every few seconds. */
const MOVING = new Set(['paid', 'issued', 'personalized']);

export const OrderPage = () => {
  const t = useT();
  const [, navigate] = useLocation();
  const [order, setOrder] = useState<PortalOrder>();
  const [problem, setProblem] = useState<Problem>();
  const [loading, setLoading] = useState(false);
  const session = holderSession();

  const load = useCallback(async () => {
    const s = holderSession();
    if (!s) return;
    setLoading(true);
    try {
      setOrder(readOrder(await api('/v1/portal/application', { token: s.token })));
      setProblem(undefined);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        setHolderSession(undefined);
        navigate('/portal/login');
        return;
      }
      setProblem(describeError(e));
    } finally {
      setLoading(false);
    }
  }, [navigate]);

  useEffect(() => {
    if (!session) navigate('/portal/login', { replace: true });
    else void load();
  }, []);

  useEffect(() => {
    if (!order || !MOVING.has(order.status)) return;
    const id = setInterval(() => void load(), 5000);
    return () => clearInterval(id);
  }, [order?.status, load]);

  const logout = () => {
    setHolderSession(undefined);
    navigate('/portal/login');
  };

  if (!session) return null;
  return (
    <>
      <div class="title-row">
        <h1>{t('order.title')}</h1>
        <button type="button" class="link" onClick={logout}>
          {t('order.logout')}
        </button>
      </div>
      {problem ? <Notice kind="error">{problemText(problem)}</Notice> : null}
      {!order ? (
        <p aria-busy="true">{t('form.loading')}</p>
      ) : (
        <>
          <section aria-labelledby="order-status" class="panel">
            <h2 id="order-status">{t('order.statusTitle')}</h2>
            <p class="status-line">
              {t('order.applicationId')}
              {t('punct.colon')}
              <code>{order.applicationId}</code>
            </p>
            <p class="status-now" id="order-status-now" aria-live="polite">
              {t('order.statusNow')}
              {t('punct.colon')}
              <strong data-status={order.status}>{t(`status.${order.status}`)}</strong>
            </p>
            <Steps status={order.status} />
            {['cancelled', 'purged', 'failed'].includes(order.status) ? (
              <Notice kind="warning">{t(`order.explain.${order.status}`)}</Notice>
            ) : null}
            {order.status === 'paid' || order.status === 'issued' || order.status === 'personalized' ? (
              <p>{t('order.inProgress')}</p>
            ) : null}
            {order.trackingNumber ? (
              <p>
                {t('order.tracking')}
                {t('punct.colon')}
                <strong id="tracking-number">{order.trackingNumber}</strong>{' '}
                <a
                  href="https://postserv.post.gov.tw/pstmail/main_mail.html"
                  target="_blank"
                  rel="noreferrer"
                >
                  {t('order.trackAtPost')}
                </a>
                {order.mailedAt ? (
                  <> · {t('order.mailedAt', { date: formatDateTime(order.mailedAt) })}</>
                ) : null}
              </p>
            ) : null}
            {order.cardNumber ? (
              <p>
                {t('fields.cardNumber')}
                {t('punct.colon')}
                <strong id="card-number">{order.cardNumber}</strong>
              </p>
            ) : null}
            <button
              type="button"
              onClick={() => void load()}
              disabled={loading}
              aria-busy={loading ? 'true' : 'false'}
            >
              {t('order.refresh')}
            </button>
          </section>

          <section aria-labelledby="order-fee" class="panel">
            <h2 id="order-fee">{t('order.feeTitle')}</h2>
            <table class="fee">
              <caption class="sr-only">{t('order.feeTitle')}</caption>
              <tbody>
                {order.fee.items.map((i) => (
                  <tr key={i.code}>
                    <th scope="row">{t(`fee.${i.code}`, { defaultValue: i.label ?? i.code })}</th>
                    <td>{formatMoney(i.amount)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">{t('fee.total')}</th>
                  <td>
                    <strong id="fee-total">{formatMoney(order.fee.total)}</strong>
                  </td>
                </tr>
              </tfoot>
            </table>
            {order.status === 'awaiting_payment' && order.paymentOpen !== false && order.paymentDeadline ? (
              <>
                <p>
                  {t('order.deadline')}
                  {t('punct.colon')}
                  <strong>{formatDateTime(order.paymentDeadline)}</strong>{' '}
                  <span class="muted">({t('order.taipeiTime')})</span>
                </p>
                <Countdown deadline={order.paymentDeadline} />
                <p class="muted">{t('order.deadlineRule')}</p>
                <Link href="/portal/payment" class="button primary">
                  {t('order.pay')}
                </Link>
              </>
            ) : null}
            {order.status === 'awaiting_payment' && order.paymentOpen === false ? (
              <Notice kind="warning">{t('order.deadlinePassed')}</Notice>
            ) : null}
            {order.paidAt ? <p>{t('order.paidAt', { date: formatDateTime(order.paidAt) })}</p> : null}
          </section>

          <section aria-labelledby="order-card" class="panel">
            <h2 id="order-card">{t('order.cardTitle')}</h2>
            <ul class="links">
              {order.status !== 'activated' ? (
                <li>
                  <Link href="/portal/card-client">{t('order.activate')}</Link>
                </li>
              ) : null}
              {order.status !== 'activated' ? (
                <li>
                  <Link href="/portal/subscriber-code">{t('order.retrieveCode')}</Link>
                </li>
              ) : null}
              <li>
                <Link href={`/portal/card${order.cardNumber ? `?card=${order.cardNumber}` : ''}`}>
                  {t('order.suspendResume')}
                </Link>
              </li>
              <li>
                <Link href="/portal/card-client">{t('order.pinHelp')}</Link>
              </li>
            </ul>
          </section>
        </>
      )}
    </>
  );
};
