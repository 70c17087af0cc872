import type { ApplicationFormInput } from '../../shared/documents/application-form.js';

/** One counter application's printable form, as the station sends it to the renderer. */
export const SAMPLE_FORM: ApplicationFormInput = {
  applicationId: 'app_01JD8Z4Q0000000000000000',
  stationId: 'TPE01',
  officerId: 'officer-7',
  applicationDate: '2026-11-23',
  name: '陳大文 CHEN, Da-Wen',
  arcMasked: '******5678',
  subscriberCode: 'K7m2Qx9P',
  fee: {
    currency: 'TWD',
    items: [
      { code: 'card', label: 'IC card', amount: 250 },
      { code: 'postage', label: 'Registered postage', amount: 28 },
    ],
    total: 278,
  },
  paymentDeadline: '2026-12-08T15:59:59.000Z',
  portalUrl: 'http://127.0.0.1:8080/portal',
};
