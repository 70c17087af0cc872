import {
  ApplicationPathParams,
  ApplicationStatusResponse,
  CounterApplicationRequest,
  CounterApplicationResponse,
} from '../../shared/contracts/station.js';
import { route } from '../http/spec.js';

/**
 * The station counter: take an application, look it up, cancel it before payment. Officers only (JWT with
 * a station id claim); every call is audited with the officer and the station.
 */
export const stationRoutes = [
  route({
    id: 'station.applyAtCounter',
    method: 'POST',
    path: '/v1/station/applications',
    auth: 'officer',
    fn: 'station',
    summary:
      'Counter application: validates the ARC number (check digit), ARC expiry (in the future), age (18 or older on the application day, Taipei), e-mail and mailing address; generates the subscriber code, which is returned ONCE here together with the printable application form (PDF, base64), the fee and the payment deadline (23:59:59 Taipei on the 15th day after today). A holder who still has a live card gets a warning; that card is revoked when the new one is issued.',
    body: CounterApplicationRequest,
    responses: {
      201: { description: 'Application taken', schema: CounterApplicationResponse },
      400: { description: 'A field breaks a rule; the field and the rule are named' },
      409: {
        description: 'The holder already has an application in progress (rule application.in_progress)',
      },
    },
  }),
  route({
    id: 'station.getApplication',
    method: 'GET',
    path: '/v1/station/applications/{id}',
    auth: 'officer',
    fn: 'station',
    summary:
      'Status of an application (order). A cancelled or purged application answers with its status only: its personal data is gone.',
    params: ApplicationPathParams,
    responses: {
      200: { description: 'The application', schema: ApplicationStatusResponse },
      404: { description: 'No such application' },
    },
  }),
  route({
    id: 'station.cancelApplication',
    method: 'POST',
    path: '/v1/station/applications/{id}/cancellation',
    auth: 'officer',
    fn: 'station',
    summary:
      'Cancel an application before payment: its personal data is deleted (a tombstone stays) and the workflow waiting for its payment ends. Repeating it answers the same; a paid application cannot be cancelled.',
    params: ApplicationPathParams,
    responses: {
      200: { description: 'Cancelled', schema: ApplicationStatusResponse },
      404: { description: 'No such application' },
      409: { description: 'Already paid (rule application.not_cancellable)' },
      410: { description: 'Already purged' },
    },
  }),
] as const;
