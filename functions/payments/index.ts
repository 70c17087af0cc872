import { createPaymentUseCases } from '../../shared/usecases/payment.js';
import { awsApiHandler } from '../aws/api.js';
import {
  audit,
  clock,
  mailContext,
  mailer,
  opsEmail,
  paymentGateway,
  repository,
  workflow,
} from '../aws/deps.js';
import { createPaymentHandlers } from './handlers.js';
import { paymentRoutes } from './routes.js';

/**
 * AWS entry of the payment gateway's callback: the MAC is checked with the merchant credentials from
 * Secrets Manager, the payment is recorded once (idempotent), and the waiting issuance execution resumes.
 */
export const handler = awsApiHandler({
  service: 'payments',
  specs: paymentRoutes,
  build: async () =>
    createPaymentHandlers({
      payments: createPaymentUseCases({
        repo: repository(),
        gateway: await paymentGateway(),
        audit: audit(),
        clock,
        mailer: mailer(),
        workflow: workflow(),
        mail: mailContext(),
        opsEmail: opsEmail(),
      }),
    }),
});
