import type { AuthorityId, CaFile } from '../../shared/ca/material.js';

/**
 * The CA material as the AWS deployment stores it: the key ceremony's output (ca.json and the DER files
 * of its pki folder), published to the table as one config document by infra/publish-ca.ts and read by
 * every function that needs the CA (functions/aws/ca.ts). No secrets: certificates and key references.
 * No runtime imports: the CDK app reads the document name to scope the ceremony role's permission.
 */
export const CA_MATERIAL_DOC = 'ca-material';

export interface MaterialDoc {
  format: 'acdc-ca-material/1';
  /** ca.json as the ceremony wrote it. */
  file: CaFile;
  /** DER certificates, base64, by authority. */
  certificates: Record<AuthorityId, string>;
  /** The root CA's CRL (DER, base64), signed at the ceremony. */
  rootCrl: string;
}
