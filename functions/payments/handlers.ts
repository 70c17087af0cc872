import type { PaymentUseCases } from '../../shared/usecases/payment.js';
import type { HandlerMap } from '../http/api.js';
import type { paymentRoutes } from './routes.js';

export const createPaymentHandlers = (deps: {
  payments: PaymentUseCases;
}): HandlerMap<typeof paymentRoutes> => ({
  'payments.callback': async (req) => {
    const result = await deps.payments.handleCallback(req.body);
    return { status: 200, body: result.acknowledgement, contentType: 'text/plain; charset=utf-8' };
  },
});
