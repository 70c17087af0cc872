import { fileURLToPath } from 'node:url';
import { type ApplicationFormInput, renderApplicationForm } from '../../shared/documents/application-form.js';
import { ValidationError } from '../../shared/errors.js';
import type { RenderFormResult } from '../aws/documents.js';
import { PDF_ASSET } from '../aws/pdf.js';
import { answer, type RemoteResult } from '../aws/remote-result.js';

/**
 * The documents function: renders the station's application form as PDF, and nothing else. Internal: no
 * route, no table, no key; only the station function may invoke it (infra/catalog.ts `documents`).
 * It alone carries pdfkit, fontkit and the CJK font (infra copies pdfkit's standard fonts and the font
 * next to index.mjs, functions/aws/pdf.ts), which keeps them out of the station's bundle.
 *
 * The form holds the subscriber code in clear: the request is never logged, and an error answer names
 * the field, never its value.
 */

/** The form's CJK font travels with the bundle (infra copies it next to index.mjs). */
const cjkFontPath = () => fileURLToPath(new URL(`./${PDF_ASSET.cjkFont}`, import.meta.url));

const STRING_FIELDS = [
  'applicationId',
  'stationId',
  'officerId',
  'applicationDate',
  'name',
  'arcMasked',
  'subscriberCode',
  'paymentDeadline',
  'portalUrl',
] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The request as the station sends it (functions/aws/documents.ts RenderFormRequest). */
export const parseRenderFormRequest = (event: unknown): { form: ApplicationFormInput; createdAt: Date } => {
  if (!isObject(event) || event.op !== 'renderApplicationForm')
    throw new ValidationError(
      'op',
      'documents.op',
      'unknown document request (known: renderApplicationForm)',
    );
  const form = event.form;
  if (!isObject(form)) throw new ValidationError('form', 'documents.form', 'must be an object');
  for (const f of STRING_FIELDS) {
    if (typeof form[f] !== 'string' || form[f] === '')
      throw new ValidationError(`form.${f}`, 'documents.form', 'must be a non-empty string');
  }
  if (form.replacesCardNumber !== undefined && typeof form.replacesCardNumber !== 'string')
    throw new ValidationError('form.replacesCardNumber', 'documents.form', 'must be a string');
  const fee = form.fee;
  if (!isObject(fee) || !Array.isArray(fee.items) || typeof fee.total !== 'number')
    throw new ValidationError('form.fee', 'documents.form', 'must have items and a total');
  const createdAt = new Date(typeof event.createdAt === 'string' ? event.createdAt : Number.NaN);
  if (Number.isNaN(createdAt.getTime()))
    throw new ValidationError('createdAt', 'documents.createdAt', 'must be an ISO 8601 instant');
  return { form: form as unknown as ApplicationFormInput, createdAt };
};

export const handler = (event: unknown): Promise<RemoteResult<RenderFormResult>> =>
  answer(async () => {
    const { form, createdAt } = parseRenderFormRequest(event);
    const pdf = await renderApplicationForm(form, { cjkFontPath: cjkFontPath(), createdAt });
    return { pdfBase64: Buffer.from(pdf).toString('base64') };
  });
