import { useEffect, useState } from 'preact/hooks';
import { Link, useLocation } from 'wouter-preact';
import { ApiError, api, holderSession, setHolderSession } from '../../api.js';
import { describeError, Input, Notice, problemText, RadioGroup, useForm } from '../../form.js';
import { formatMoney, useT } from '../../i18n.js';
import { type EInvoice, type MailingAddress, type PortalOrder, readOrder } from '../../portal-model.js';
import {
  checkAddressPart,
  checkCitizenCertificate,
  checkDonationCode,
  checkMobileBarcode,
  checkPrintable,
  checkTaxId,
  type Problem,
  required,
} from '../../validation.js';

interface CheckoutForm {
  action: string;
  fields: Record<string, string>;
}

/** Hands the holder's browser to the gateway: an ordinary form POST, like the gateway expects. */
const postToGateway = (checkout: CheckoutForm) => {
  const f = document.createElement('form');
  f.method = 'POST';
  f.action = checkout.action;
  f.style.display = 'none';
  for (const [name, value] of Object.entries(checkout.fields)) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    f.appendChild(input);
  }
  document.body.appendChild(f);
  f.submit();
};

const readCheckout = (raw: unknown): CheckoutForm | undefined => {
  const r = raw as { checkout?: CheckoutForm; action?: string; fields?: Record<string, string> } | undefined;
  const c = r?.checkout ?? r;
  return c && typeof c.action === 'string' && c.fields && typeof c.fields === 'object'
    ? { action: c.action, fields: c.fields }
    : undefined;
};

const INVOICE_KINDS = ['mobile_barcode', 'citizen_certificate', 'donation', 'company'] as const;

type PaymentFields = {
  recipient: string;
  postalCode: string;
  city: string;
  line1: string;
  line2: string;
  phone: string;
  invoiceKind: string;
  carrier: string;
  donationCode: string;
  taxId: string;
  title: string;
};

/** Server field names (`mailingAddress.city`, `invoice.carrier`) to the form's own. */
const mapServerField = (f: string): keyof PaymentFields | undefined => {
  const last = f.split('.').pop() ?? f;
  if (f === 'invoice.kind' || f === 'invoice') return 'invoiceKind';
  const known: (keyof PaymentFields)[] = [
    'recipient',
    'postalCode',
    'city',
    'line1',
    'line2',
    'phone',
    'carrier',
    'donationCode',
    'taxId',
    'title',
  ];
  return known.find((k) => k === last);
};

export const PaymentPage = () => {
  const t = useT();
  const [, navigate] = useLocation();
  const [order, setOrder] = useState<PortalOrder>();
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const [acknowledged, setAcknowledged] = useState(false);
  const [ackProblem, setAckProblem] = useState(false);

  const kindOf = (all: PaymentFields) => all.invoiceKind;
  const when =
    (kind: string, check: (v: string) => Problem | undefined) =>
    (v: string, all: PaymentFields): Problem | undefined =>
      kindOf(all) === kind ? check(v) : undefined;

  const form = useForm<PaymentFields>(
    'pay',
    {
      recipient: '',
      postalCode: '',
      city: '',
      line1: '',
      line2: '',
      phone: '',
      invoiceKind: 'mobile_barcode',
      carrier: '',
      donationCode: '',
      taxId: '',
      title: '',
    },
    {
      recipient: checkAddressPart('recipient'),
      postalCode: required(checkAddressPart('postalCode')),
      city: required(checkAddressPart('city')),
      line1: required(checkAddressPart('line1')),
      line2: checkAddressPart('line2'),
      phone: checkAddressPart('phone'),
      carrier: (v, all) =>
        all.invoiceKind === 'mobile_barcode'
          ? required(checkMobileBarcode)(v)
          : when('citizen_certificate', required(checkCitizenCertificate))(v, all),
      donationCode: when('donation', required(checkDonationCode)),
      taxId: when('company', required(checkTaxId)),
      title: when('company', checkPrintable(60)),
    },
    { carrier: 8, taxId: 8 },
  );

  useEffect(() => {
    const s = holderSession();
    if (!s) {
      navigate('/portal/login', { replace: true });
      return;
    }
    api('/v1/portal/application', { token: s.token })
      .then((raw) => {
        const o = readOrder(raw);
        setOrder(o);
        const a: Partial<MailingAddress> = o.mailingAddress ?? {};
        form.setValues((v) => ({
          ...v,
          recipient: a.recipient ?? o.name ?? '',
          postalCode: a.postalCode ?? '',
          city: a.city ?? '',
          line1: a.line1 ?? '',
          line2: a.line2 ?? '',
          phone: a.phone ?? '',
        }));
      })
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 401) {
          setHolderSession(undefined);
          navigate('/portal/login');
        } else setProblem(describeError(e));
      });
  }, []);

  const v = form.values;
  const invoiceOf = (): EInvoice => {
    switch (v.invoiceKind) {
      case 'citizen_certificate':
        return { kind: 'citizen_certificate', carrier: v.carrier.trim() };
      case 'donation':
        return { kind: 'donation', donationCode: v.donationCode.trim() };
      case 'company':
        return {
          kind: 'company',
          taxId: v.taxId.trim(),
          ...(v.title.trim() ? { title: v.title.trim() } : {}),
        };
      default:
        return { kind: 'mobile_barcode', carrier: v.carrier.trim() };
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    const ok = form.validateAll();
    setAckProblem(!acknowledged);
    if (!ok) return;
    if (!acknowledged) {
      document.getElementById('pay-ack')?.focus();
      return;
    }
    const s = holderSession();
    if (!s) return navigate('/portal/login');
    setBusy(true);
    try {
      const mailingAddress: MailingAddress = {
        postalCode: v.postalCode.trim(),
        city: v.city.trim(),
        line1: v.line1.trim(),
        ...(v.line2.trim() ? { line2: v.line2.trim() } : {}),
        ...(v.recipient.trim() ? { recipient: v.recipient.trim() } : {}),
        ...(v.phone.trim() ? { phone: v.phone.trim() } : {}),
      };
      const raw = await api('/v1/portal/payments', {
        token: s.token,
        body: { mailingAddress, invoice: invoiceOf() },
      });
      const checkout = readCheckout(raw);
      if (!checkout) throw new ApiError(502, 'internal', 'no checkout form in the answer');
      postToGateway(checkout);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setHolderSession(undefined);
        navigate('/portal/login');
      } else if (!form.showServerError(err, mapServerField)) setProblem(describeError(err));
      setBusy(false);
    }
  };

  const kindLabel = (k: string) => t(`invoice.kind.${k}`);
  return (
    <>
      <h1>{t('pay.title')}</h1>
      <p>
        <Link href="/portal">{t('pay.back')}</Link>
      </p>
      {problem ? <Notice kind="error">{problemText(problem)}</Notice> : null}
      {order && order.status !== 'awaiting_payment' ? (
        <Notice kind="info">{t('pay.notAwaiting', { status: t(`status.${order.status}`) })}</Notice>
      ) : null}
      {/* The form waits for the order, so nothing typed is overwritten by the pre-filled address. */}
      {!order ? (
        problem ? null : (
          <p aria-busy="true">{t('form.loading')}</p>
        )
      ) : (
        <form ref={form.formRef} onSubmit={submit} noValidate class="card-form">
          <fieldset>
            <legend>{t('pay.addressTitle')}</legend>
            <p class="hint">{t('pay.addressHint')}</p>
            <Input state={form.field('recipient')} label={t('fields.recipient')} autoComplete="name" />
            <Input
              state={form.field('postalCode')}
              label={t('fields.postalCode')}
              hint={t('hints.postalCode')}
              required
              inputMode="numeric"
              maxLength={6}
              autoComplete="postal-code"
            />
            <Input
              state={form.field('city')}
              label={t('fields.city')}
              required
              autoComplete="address-level1"
            />
            <Input
              state={form.field('line1')}
              label={t('fields.line1')}
              required
              autoComplete="address-line1"
            />
            <Input state={form.field('line2')} label={t('fields.line2')} autoComplete="address-line2" />
            <Input state={form.field('phone')} label={t('fields.phone')} type="tel" autoComplete="tel" />
          </fieldset>

          <fieldset>
            <legend>{t('pay.invoiceTitle')}</legend>
            <RadioGroup
              state={form.field('invoiceKind')}
              legend={t('fields.invoiceKind')}
              options={INVOICE_KINDS.map((k) => ({ value: k, label: kindLabel(k) }))}
            />
            {v.invoiceKind === 'mobile_barcode' ? (
              <Input
                key="mobile"
                state={form.field('carrier')}
                label={t('fields.mobileBarcode')}
                hint={t('hints.mobileBarcode')}
                required
                maxLength={8}
                autoCapitalize="characters"
                placeholder="/ABC+123"
              />
            ) : null}
            {v.invoiceKind === 'citizen_certificate' ? (
              <Input
                key="cdc"
                state={form.field('carrier')}
                label={t('fields.citizenCertificate')}
                hint={t('hints.citizenCertificate')}
                required
                maxLength={16}
                autoCapitalize="characters"
              />
            ) : null}
            {v.invoiceKind === 'donation' ? (
              <Input
                state={form.field('donationCode')}
                label={t('fields.donationCode')}
                hint={t('hints.donationCode')}
                required
                inputMode="numeric"
                maxLength={7}
              />
            ) : null}
            {v.invoiceKind === 'company' ? (
              <>
                <Input
                  state={form.field('taxId')}
                  label={t('fields.taxId')}
                  hint={t('hints.taxId')}
                  required
                  inputMode="numeric"
                  maxLength={8}
                />
                <Input
                  state={form.field('title')}
                  label={t('fields.companyTitle')}
                  autoComplete="organization"
                />
              </>
            ) : null}
          </fieldset>

          {order ? (
            <p class="total">
              {t('pay.amount')}
              {t('punct.colon')}
              <strong>{formatMoney(order.fee.total)}</strong>
            </p>
          ) : null}
          <div class={`field checkbox${ackProblem && !acknowledged ? ' invalid' : ''}`}>
            <label>
              <input
                id="pay-ack"
                type="checkbox"
                checked={acknowledged}
                onChange={(e) => setAcknowledged(e.currentTarget.checked)}
                aria-describedby="pay-ack-error"
                aria-invalid={ackProblem && !acknowledged ? 'true' : 'false'}
              />{' '}
              {t('pay.noRefund')}
            </label>
            <p id="pay-ack-error" class="field-error" aria-live="polite">
              {ackProblem && !acknowledged ? t('pay.ackRequired') : null}
            </p>
          </div>
          <button type="submit" class="primary" disabled={busy} aria-busy={busy ? 'true' : 'false'}>
            {busy ? t('pay.redirecting') : t('pay.submit')}
          </button>
          <p class="hint">{t('pay.gatewayNote')}</p>
        </form>
      )}
    </>
  );
};
