import {
  CompleteRequest,
  CompleteResponse,
  FailureRequest,
  FailureResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  InventoryRequest,
  InventoryResponse,
  JobPathParams,
  LeasedJob,
  LeaseRequest,
  MailedRequest,
  MailedResponse,
} from '../../shared/contracts/card-station.js';
import { route } from '../http/spec.js';

/**
 * The card personalization bureau's routes (machine identity JWT, role card-station). The bureau never
 * sees a CA key: it enrols blank stock (public keys + proof of possession) and leases jobs that carry
 * the already-signed certificates.
 */
export const cardStationRoutes = [
  route({
    id: 'cardstation.enroll',
    method: 'POST',
    path: '/v1/card-station/inventory',
    auth: 'card-station',
    fn: 'cardstation',
    summary:
      'Enrol blank cards: card numbers, the two on-card public keys, a PKCS#10 proof of possession each',
    body: InventoryRequest,
    responses: { 200: { description: 'Enrolled (idempotent per card)', schema: InventoryResponse } },
  }),
  route({
    id: 'cardstation.lease',
    method: 'POST',
    path: '/v1/card-station/jobs/lease',
    auth: 'card-station',
    fn: 'cardstation',
    summary: 'Lease the next card job (exclusive, with an expiry); 204 when there is nothing to do',
    body: LeaseRequest,
    responses: {
      200: { description: 'A leased job', schema: LeasedJob },
      204: { description: 'Nothing to do' },
    },
  }),
  route({
    id: 'cardstation.heartbeat',
    method: 'POST',
    path: '/v1/card-station/jobs/{id}/heartbeat',
    auth: 'card-station',
    fn: 'cardstation',
    summary: 'Extend the lease of a job this agent holds',
    params: JobPathParams,
    body: HeartbeatRequest,
    responses: { 200: { description: 'Lease extended', schema: HeartbeatResponse } },
  }),
  route({
    id: 'cardstation.complete',
    method: 'POST',
    path: '/v1/card-station/jobs/{id}/complete',
    auth: 'card-station',
    fn: 'cardstation',
    summary: 'Report the card written and verified (idempotent); resumes the issuance workflow',
    params: JobPathParams,
    body: CompleteRequest,
    responses: { 200: { description: 'Completed', schema: CompleteResponse } },
  }),
  route({
    id: 'cardstation.mailed',
    method: 'POST',
    path: '/v1/card-station/jobs/{id}/mailed',
    auth: 'card-station',
    fn: 'cardstation',
    summary: 'Report the registered-mail tracking number (idempotent)',
    params: JobPathParams,
    body: MailedRequest,
    responses: { 200: { description: 'Mailed', schema: MailedResponse } },
  }),
  route({
    id: 'cardstation.failure',
    method: 'POST',
    path: '/v1/card-station/jobs/{id}/failure',
    auth: 'card-station',
    fn: 'cardstation',
    summary: 'Report the card spoiled; the job fails and ops are alerted',
    params: JobPathParams,
    body: FailureRequest,
    responses: { 200: { description: 'Recorded', schema: FailureResponse } },
  }),
] as const;
