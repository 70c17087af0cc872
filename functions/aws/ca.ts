import { type CaDescriptor, describeCa } from '../../shared/ca/certificate.js';
import { type CrlPublisher, createCrlPublisher, type PublishedCrl } from '../../shared/ca/crl.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssueCardCertificatesInput,
  type IssuedCertificates,
} from '../../shared/ca/issuer.js';
import { AUTHORITY_IDS, type AuthorityId, type PkiMaterial } from '../../shared/ca/material.js';
import type { Actor } from '../../shared/domain/model.js';
import { DependencyError, ForbiddenError, InternalError } from '../../shared/errors.js';
import type { Repository } from '../../shared/ports/repository.js';
import type { Signer, SignerKeyRef } from '../../shared/ports/signer.js';
import { audit, caKeyRef, clock, config, emailKey, repository, required, signer } from './deps.js';
import { CA_MATERIAL_DOC, type MaterialDoc } from './material-doc.js';
import { invoke } from './remote.js';

/** The remote call protocol moved to ./remote.ts (the documents function uses it without the CA). */
export { answer, invoke, type RemoteResult } from './remote.js';

/**
 * The CA on AWS, as each function may use it. Three rules come from the key policies
 * (infra/stacks/keys.ts), which let exactly two functions sign with the issuing CA key:
 *
 * - the issuance signer (SignCertificates task) signs certificates — for the workflow, and for the
 *   portal's e-mail re-issue, which it asks for through `issueRemotely`;
 * - the CRL job signs CRLs; every other function that changes a certificate's status (revoke, hold,
 *   release) or serves the CRL asks it for a fresh one through `remoteCrlPublisher`;
 * - everybody else gets a CA whose signer refuses to sign, which is what IAM would do anyway, but with
 *   a message that says why.
 *
 * The CA material (certificates, key references, URLs) is the key ceremony's output, published to the
 * table by infra/publish-ca.ts as the config document `ca-material`.
 */

const u8 = (b64: string): Uint8Array => Uint8Array.from(Buffer.from(b64, 'base64'));

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** The document infra/publish-ca.ts stores, from the ceremony's output (loadPkiMaterial). */
export const materialDoc = (m: PkiMaterial): MaterialDoc => ({
  format: 'acdc-ca-material/1',
  file: m.file,
  certificates: {
    'root-ca': b64(m.root.certificate),
    'issuing-ca': b64(m.issuing.certificate),
    'ocsp-responder': b64(m.ocspResponder.certificate),
  },
  rootCrl: b64(m.rootCrl),
});

/** The running service's view of the published material (the same shape loadPkiMaterial gives locally). */
export const materialFromDoc = (doc: MaterialDoc): PkiMaterial => {
  if (doc.format !== 'acdc-ca-material/1')
    throw new InternalError(`unknown CA material format ${String(doc.format)}`);
  const describe = (id: AuthorityId): CaDescriptor => {
    const der = doc.certificates[id];
    if (!der) throw new InternalError(`the CA material has no ${id} certificate`);
    return describeCa(id, u8(der), doc.file.authorities[id].key);
  };
  const [root, issuing, ocspResponder] = AUTHORITY_IDS.map(describe) as [
    CaDescriptor,
    CaDescriptor,
    CaDescriptor,
  ];
  return {
    file: doc.file,
    root,
    issuing,
    ocspResponder,
    urls: doc.file.urls,
    rootCrl: u8(doc.rootCrl),
    chain: [issuing.certificate, root.certificate],
  };
};

let materialPromise: Promise<PkiMaterial> | undefined;

/** The CA material, read once per cold start. */
export const material = (): Promise<PkiMaterial> => {
  materialPromise ??= repository()
    .docs.get<MaterialDoc>(CA_MATERIAL_DOC)
    .then((doc) => {
      if (!doc) {
        throw new InternalError(
          'no CA material in the table: run the key ceremony and infra/publish-ca.ts (docs/deploy.md)',
        );
      }
      return materialFromDoc(doc);
    })
    .catch((e: unknown) => {
      materialPromise = undefined;
      throw e;
    });
  return materialPromise;
};

/** A signer for functions that hold no CA key. */
export const refusingSigner = (who: string): Signer => ({
  sign: async () => {
    throw new InternalError(
      `the ${who} function holds no CA key; only the issuance signer and the CRL job sign`,
    );
  },
  publicKey: async () => {
    throw new InternalError(`the ${who} function holds no CA key`);
  },
});

/** `arn:…:key/<id>`, `<id>` and `alias/…` name the same key only when they are equal after this. */
const keyIdOf = (ref: string): string => ref.replace(/^arn:[^:]+:kms:[^:]+:\d+:/, '');

/** The KMS signer, after checking the material names the very key this function was given. */
const caSigner = (m: PkiMaterial): { signer: Signer; key: SignerKeyRef } => {
  const granted = caKeyRef();
  if (m.issuing.key.provider !== 'kms' || keyIdOf(m.issuing.key.keyId) !== keyIdOf(granted.keyId)) {
    throw new InternalError(
      `the issuing CA certificate names key ${m.issuing.key.keyId}, but this function was given ${granted.keyId}`,
    );
  }
  return { signer: signer(), key: granted };
};

/** What the CRL job answers to `{ op: 'regenerateCrl' }`. */
export interface CrlRequest {
  op: 'regenerateCrl';
  actor?: Actor;
}

/**
 * The CRL publisher of a function that does not sign CRLs: it reads the stored CRL, and asks the CRL job
 * to sign a new one when a status changed (regenerate) or the stored one is close to its nextUpdate.
 */
export const remoteCrlPublisher = (m: PkiMaterial, who: string): CrlPublisher => {
  const local = createCrlPublisher({
    docs: repository().docs,
    certificates: repository().certificates,
    signer: refusingSigner(who),
    clock,
    ca: m.issuing,
  });
  const regenerate = async (actor?: Actor): Promise<PublishedCrl> => {
    await invoke<unknown>(required('CRL_FUNCTION_ARN'), { op: 'regenerateCrl', ...(actor ? { actor } : {}) });
    const latest = await local.latest();
    if (!latest) throw new DependencyError('the CRL job answered, but no CRL is stored');
    return latest;
  };
  return {
    regenerate,
    latest: () => local.latest(),
    async current() {
      const latest = await local.latest();
      // Refresh once a quarter of the validity is left, as the local publisher does.
      if (latest) {
        const left = latest.nextUpdate.getTime() - clock.now().getTime();
        const validity = latest.nextUpdate.getTime() - latest.thisUpdate.getTime();
        if (left > validity / 4) return latest;
      }
      return regenerate();
    },
  };
};

/** Functions that hold the lookup key pass it to the CA so e-mails can be stored for the public query. */
const emailKeyIfGranted = () => (config().KMS_LOOKUP_KEY_ID ? { emailKey } : {});

let caPromise: Promise<CertificateAuthority> | undefined;

/**
 * The certificate authority of this function: signing with KMS in the issuance signer, refusing to sign
 * anywhere else; CRLs always through the CRL job (or, in the CRL job itself, signed right here).
 */
export const certificateAuthority = (
  who: string,
  opts: { crlSigner?: boolean } = {},
): Promise<CertificateAuthority> => {
  caPromise ??= material()
    .then((m) => {
      const signs = Boolean(config().KMS_CA_KEY_ID);
      const sig = signs ? caSigner(m) : { signer: refusingSigner(who), key: m.issuing.key };
      const repo = repository();
      return createCertificateAuthority({
        certificates: repo.certificates,
        docs: repo.docs,
        audit: audit(),
        signer: sig.signer,
        clock,
        ca: { ...m.issuing, key: sig.key },
        urls: m.urls,
        ...emailKeyIfGranted(),
        ...(opts.crlSigner ? {} : { crl: remoteCrlPublisher(m, who) }),
      });
    })
    .catch((e: unknown) => {
      caPromise = undefined;
      throw e;
    });
  return caPromise;
};

/** The chain a card carries next to its certificates (DER base64, issuing CA first). */
export const chainBase64 = async (): Promise<string[]> =>
  (await material()).chain.map((c) => Buffer.from(c).toString('base64'));

/** The portal's side of a re-issue: the issuance signer checks the request against the records and signs. */
export const issueRemotely = (input: IssueCardCertificatesInput): Promise<IssuedCertificates> =>
  invoke<IssuedCertificates>(required('CA_SIGNER_FUNCTION_ARN'), { op: 'issueCardCertificates', input });

/**
 * The signer's check of a re-issue request from the portal: the certificates are for the card's own keys,
 * the holder's own name and subject serial (as the card's current signature certificate has them), for
 * the holder of that application. Only the e-mail is the portal's to choose.
 */
export const checkReissueRequest = async (
  input: IssueCardCertificatesInput,
  repo: Pick<Repository, 'cards' | 'certificates'> = repository(),
): Promise<void> => {
  const refuse = (why: string) => {
    throw new ForbiddenError(`re-issue refused: ${why}`);
  };
  if (input.actor?.type !== 'holder' || input.actor.id !== input.applicationId)
    refuse('not the holder of the application');
  const card = await repo.cards.get(input.cardNumber);
  if (!card || card.applicationId !== input.applicationId)
    return refuse('the card is not this application’s');
  if (JSON.stringify(card.keys) !== JSON.stringify(input.keys)) refuse('not the card’s own keys');
  const signature = card.certificateSerials?.signature
    ? await repo.certificates.get(card.certificateSerials.signature)
    : undefined;
  if (
    !signature ||
    signature.subjectName !== input.holderName ||
    signature.subjectSerial !== input.subjectSerial
  ) {
    refuse('holder name or subject serial differ from the card’s certificate');
  }
};
