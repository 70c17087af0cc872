import { CertificateQueryParams, CertificateQueryResponse } from '../../shared/contracts/query.js';
import { route } from '../http/spec.js';

export const queryRoutes = [
  route({
    id: 'query.certificates',
    method: 'GET',
    path: '/v1/certificates',
    auth: 'public',
    fn: 'query',
    summary:
      'Public certificate status query by exactly one of: name + issuedMonth (YYYY-MM), email, cardNumber, serialNumber. Status and validity only, never personal data. Rate limited per caller.',
    query: CertificateQueryParams,
    responses: {
      200: { description: 'Matching certificates (possibly none)', schema: CertificateQueryResponse },
      400: { description: 'Not exactly one query key, or a malformed value (the rule is named)' },
      429: { description: 'Too many queries from this caller; see Retry-After' },
    },
  }),
] as const;
