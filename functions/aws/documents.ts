import type { ApplicationFormInput } from '../../shared/documents/application-form.js';
import type { FormRenderer } from '../../shared/usecases/station.js';
import { required } from './deps.js';
import { invoke } from './remote.js';

/**
 * The documents function's protocol (functions/documents/index.ts): PDF rendering — pdfkit, fontkit and
 * a 4 MB CJK font — lives in that one function, so the station function's bundle carries none of it.
 * The station asks for the application form synchronously; the form holds the subscriber code in clear,
 * so neither side logs the request or the answer.
 */

export interface RenderFormRequest {
  op: 'renderApplicationForm';
  form: ApplicationFormInput;
  /** The PDF's creation date (ISO 8601), from the station's clock. */
  createdAt: string;
}

/** The rendered PDF, base64 (a synchronous invocation answers JSON, at most 6 MB). */
export interface RenderFormResult {
  pdfBase64: string;
}

/** The station's form renderer on AWS: the documents function renders it (DOCUMENTS_FUNCTION_ARN). */
export const remoteFormRenderer =
  (functionArn: () => string = () => required('DOCUMENTS_FUNCTION_ARN')): FormRenderer =>
  async (form, { createdAt }) => {
    const request: RenderFormRequest = {
      op: 'renderApplicationForm',
      form,
      createdAt: createdAt.toISOString(),
    };
    const { pdfBase64 } = await invoke<RenderFormResult>(functionArn(), request);
    return new Uint8Array(Buffer.from(pdfBase64, 'base64'));
  };
