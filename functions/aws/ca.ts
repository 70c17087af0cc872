import { type CaDescriptor, describeCa } from '../../shared/ca/certificate.js';
import { type CrlInfo, type CrlPublisher, type CrlReadCache, readPublishedCrl } from '../../shared/ca/crl.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssueCardCertificatesInput,
  type IssuedCertificates,
} from '../../shared/ca/issuer.js';
import { AUTHORITY_IDS, type AuthorityId, type PkiMaterial } from '../../shared/ca/material.js';
import type { Actor } from '../../shared/domain/model.js';
import { DependencyError, ForbiddenError, InternalError } from '../../shared/errors.js';
import type { CrlBlobStore } from '../../shared/ports/crl-blobs.js';
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

/** What the CRL job answers: the CRL it published, without the bytes. */
export interface CrlAnswer {
  caId: string;
  number: string;
  thisUpdate: string;
  nextUpdate: string;
  entries: number;
  size: number;
  sha256: string;
}

export const crlAnswerOf = (crl: CrlInfo): CrlAnswer => ({
  caId: crl.caId,
  number: crl.number.toString(),
  thisUpdate: crl.thisUpdate.toISOString(),
  nextUpdate: crl.nextUpdate.toISOString(),
  entries: crl.entries,
  size: crl.size,
  sha256: crl.sha256,
});

/**
 * The CRL publisher of a function that does not sign CRLs: it asks the CRL job to sign a new one when a
 * status changed (regenerate) or the stored one is close to its nextUpdate. Only a function given the
 * PKI repository (`blobs`: the pki function) reads CRL bytes; the others just ask for a fresh CRL.
 */
export const remoteCrlPublisher = (m: PkiMaterial, who: string, blobs?: () => CrlBlobStore): CrlPublisher => {
  const cache: CrlReadCache = {};
  const latest = () => {
    if (!blobs)
      throw new InternalError(`the ${who} function does not read CRLs (the pki function serves them)`);
    return readPublishedCrl(repository().docs, blobs(), m.issuing.id, cache);
  };
  const regenerate = async (actor?: Actor): Promise<CrlInfo> => {
    const a = await invoke<CrlAnswer>(required('CRL_FUNCTION_ARN'), {
      op: 'regenerateCrl',
      ...(actor ? { actor } : {}),
    });
    return {
      caId: a.caId,
      number: BigInt(a.number),
      thisUpdate: new Date(a.thisUpdate),
      nextUpdate: new Date(a.nextUpdate),
      entries: a.entries,
      size: a.size,
      sha256: a.sha256,
    };
  };
  return {
    regenerate,
    latest,
    async current() {
      const stored = await latest();
      // Refresh once a quarter of the validity is left, as the local publisher does.
      if (stored) {
        const left = stored.nextUpdate.getTime() - clock.now().getTime();
        const validity = stored.nextUpdate.getTime() - stored.thisUpdate.getTime();
        if (left > validity / 4) return stored;
      }
      await regenerate();
      const fresh = await latest();
      if (!fresh) throw new DependencyError('the CRL job answered, but no CRL is published');
      return fresh;
    },
  };
};

/** Functions that hold the lookup key pass it to the CA so e-mails can be stored for the public query. */
const emailKeyIfGranted = () => (config().KMS_LOOKUP_KEY_ID ? { emailKey } : {});

/** The CRL job publishes to the PKI repository; signing a CRL that goes nowhere would be a silent fault. */
const crlSignerBlobs = (who: string, blobs?: () => CrlBlobStore): CrlBlobStore => {
  if (!blobs)
    throw new InternalError(`the ${who} function signs CRLs but was given no place to publish them`);
  return blobs();
};

let caPromise: Promise<CertificateAuthority> | undefined;

/**
 * The certificate authority of this function: signing with KMS in the issuance signer, refusing to sign
 * anywhere else; CRLs always through the CRL job (or, in the CRL job itself, signed right here).
 */
export const certificateAuthority = (
  who: string,
  opts: { crlSigner?: boolean; crlBlobs?: () => CrlBlobStore } = {},
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
        ...(opts.crlSigner
          ? { crlBlobs: crlSignerBlobs(who, opts.crlBlobs) }
          : { crl: remoteCrlPublisher(m, who, opts.crlBlobs) }),
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
