import { CardStateResponse } from '../../shared/contracts/holder.js';
import { AuditExportQuery, AuditExportResponse, OpsSuspensionRequest } from '../../shared/contracts/ops.js';
import { route } from '../http/spec.js';

export const opsRoutes = [
  route({
    id: 'ops.suspendCard',
    method: 'POST',
    path: '/v1/ops/suspensions',
    auth: 'ops',
    fn: 'ops',
    summary:
      "Emergency suspension on the holder's faxed request: both certificates on hold (certificateHold on the CRL and in OCSP), card suspended by ops. The holder resumes online with the subscriber code.",
    body: OpsSuspensionRequest,
    responses: {
      200: { description: 'Suspended (changed false when it already was)', schema: CardStateResponse },
      404: { description: 'No such card' },
      409: { description: 'The card is revoked, not yet mailed, or busy' },
    },
  }),
  route({
    id: 'ops.exportAudit',
    method: 'GET',
    path: '/v1/ops/audit',
    auth: 'ops',
    fn: 'ops',
    summary:
      'Audit export: the hash-chained records appended in [from, to), with the verification of their hashes and links and the chain head. Paged by afterSeq.',
    query: AuditExportQuery,
    responses: { 200: { description: 'Records and verification', schema: AuditExportResponse } },
  }),
] as const;
