import { createHash, randomBytes, verify as verifySignature, X509Certificate } from 'node:crypto';
import type { IssueCardCertificatesInput, IssuedCertificates } from '../ca/issuer.js';
import { createUnblockAuthorization, deriveCardAdminKey } from '../card/unblock.js';
import {
  type ActivationResponse,
  type CardCertificatesResponse,
  type CardStateResponse,
  type CodeChallengeResponse,
  type CodeChangeRequest,
  type CodeChangeResponse,
  type CodeRetrievalRequest,
  type CodeRetrievalResponse,
  codeChangeMessage,
  type EmailChangeResponse,
  type PinUnblockResponse,
  type UnblockRequest,
} from '../contracts/holder.js';
import { parseArcNumber } from '../domain/arc.js';
import { applicationLifecycle, cardLifecycle, transition } from '../domain/lifecycle.js';
import type {
  Actor,
  Application,
  ApplicationTombstone,
  Card,
  CertificateRecord,
  RevocationReason,
  SubscriberCredential,
} from '../domain/model.js';
import {
  afterActivation,
  afterChange,
  afterFailure,
  afterSuccess,
  hashSubscriberCode,
  isLocked,
  MAX_SUBSCRIBER_CODE_FAILURES,
  openInitialCode,
  parseNewSubscriberCode,
  parseSubscriberCode,
  remainingAttempts,
  verifySubscriberCode,
} from '../domain/subscriber-code.js';
import {
  AuthenticationError,
  ConflictError,
  LockedError,
  NotFoundError,
  RateLimitedError,
  VersionConflictError,
} from '../errors.js';
import { type MailContext, subscriberCodeRetrievalMail } from '../mail/templates.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { Mailer } from '../ports/mailer.js';
import type { Repository } from '../ports/repository.js';
import type { SecretKeys } from '../ports/secrets.js';
import {
  type CardCertificateOperations,
  type CardStateUseCases,
  certificatesOfCard,
  claimCardOperation,
  loadCard,
  saveCard,
} from './revocation.js';

/**
 * The holder's self-service on a card, authorized by the subscriber code (or, to change that code, by a
 * signature of the card's own key): activation, PIN unblock, code retrieval and change, suspension,
 * resumption, e-mail change, and reading the card's certificates back.
 *
 * Subscriber code checks count towards the 4-failure lock on the card's application, with versioned
 * conditional saves re-read on every lost race (the same rules as the portal login, shared/domain/
 * subscriber-code.ts). A malformed code is a 400 and is not counted; a locked code is refused (423)
 * without being checked.
 *
 * Activation and unblock hand out an unblock authorization (shared/card/unblock.ts) for the challenge
 * the card showed: single use at the card (it forgets the challenge at the first attempt) and at the
 * server (the challenge is claimed as a marker, so a replayed challenge gets nothing), valid 5 minutes.
 *
 * Activation ordering: the card is marked `active` (then the application `activated` and the sealed
 * initial code destroyed) BEFORE the card has taken the PIN, because the server cannot see the card.
 * If the answer is lost or the card refuses it, the holder simply activates again: activation of an
 * already active card, with the subscriber code and a fresh challenge, gives a fresh authorization
 * (`repeated: true`). That grants nothing a PIN unblock would not, and it also finishes an activation
 * that stopped between the card and the application record.
 */

/** The CA as the e-mail change needs it: re-issue, supersede, and the chain written to cards. */
export interface HolderCertificateAuthority extends CardCertificateOperations {
  issueCardCertificates(input: IssueCardCertificatesInput): Promise<IssuedCertificates>;
  /** The CA certificates a card carries next to the holder's (DER base64, issuing CA first). */
  chain(): Promise<string[]>;
}

export interface HolderDeps {
  repo: Pick<Repository, 'applications' | 'cards' | 'certificates' | 'markers' | 'docs'>;
  secrets: SecretKeys;
  clock: Clock;
  audit: AuditLog;
  mailer: Mailer;
  mail: MailContext;
  ca: HolderCertificateAuthority;
  cardState: CardStateUseCases;
  /** Keyed hash of an ARC number, as the station stores it (`arcKeyOf`). */
  arcKey: (arcNumber: string) => Promise<string>;
  /** Keyed hash of a lower-cased e-mail, as the CA stores it for the public query. */
  emailKey: (email: string) => Promise<string>;
  /** scrypt cost of new subscriber-code hashes (config SUBSCRIBER_CODE_SCRYPT_LOG2N). */
  scryptLog2N: number;
}

/** How long an unblock authorization and a code-change nonce are good for. */
export const AUTHORIZATION_MINUTES = 5;
/** How long a used card challenge is remembered: far past the authorization's life. */
const USED_CHALLENGE_HOURS = 24;
/** "Retrieve my subscriber code": at most this many requests per ARC number per hour. */
export const RETRIEVALS_PER_HOUR = 3;
const SAVE_ATTEMPTS = 20;

const RETRIEVAL_MESSAGE =
  'If the ARC number and e-mail match an application whose card is not activated yet, the subscriber code has been sent to the registered e-mail address.';

const isApplication = (r: Application | ApplicationTombstone | undefined): r is Application =>
  r !== undefined && 'arcKey' in r;

const holderActor = (app: Application): Actor => ({ type: 'holder', id: app.id });

const lockedError = () =>
  new LockedError(
    `the subscriber code is locked after ${MAX_SUBSCRIBER_CODE_FAILURES} wrong tries; change it with your card (card client: change-code), then try again`,
    { field: 'subscriberCode', rule: 'subscriber_code.locked' },
  );

const wrongCode = (left: number) =>
  new AuthenticationError(
    `the subscriber code is not right; ${left} ${left === 1 ? 'try' : 'tries'} left before it locks`,
    { field: 'subscriberCode', rule: 'subscriber_code.wrong' },
  );

const cardStateError = (card: Card, wanted: string): ConflictError => {
  switch (card.status) {
    case 'suspended':
      return new ConflictError(
        `card ${card.cardNumber} is suspended; resume it with the subscriber code before you ${wanted}`,
        { rule: 'card.suspended' },
      );
    case 'revoked':
      return new ConflictError(
        `card ${card.cardNumber} is revoked for good; apply for a new card at a station`,
        {
          rule: 'card.revoked',
        },
      );
    case 'mailed':
      return new ConflictError(`card ${card.cardNumber} is not activated yet; activate it first`, {
        rule: 'card.not_activated',
      });
    default:
      return new ConflictError(`card ${card.cardNumber} has not been mailed to its holder yet`, {
        rule: 'card.not_mailed',
      });
  }
};

/**
 * A certificate of the card record an e-mail change may start from: good, or superseded by a re-issue
 * of this card that stopped before the card record was saved (revoked, reason superseded, with a
 * successor). A certificate revoked for any other reason (a station revocation that stopped before the
 * card record) is not: that card is not re-issued.
 */
const reissueBase = (c: CertificateRecord, card: Card): boolean =>
  c.cardNumber === card.cardNumber &&
  (c.status === 'good' ||
    (c.status === 'revoked' && c.revocationReason === 'superseded' && c.supersededBy !== undefined));

/**
 * The CA's idempotency key of an e-mail re-issue: the pair it replaces and the new e-mail (its keyed
 * hash), so every retry of one change gets the same certificates and a later change gets new ones.
 */
const emailIssuanceId = (replaced: { signature: string; encryption: string }, emailKey: string): string =>
  `email:${createHash('sha256').update(`${replaced.signature}|${replaced.encryption}|${emailKey}`).digest('hex').slice(0, 40)}`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const createHolderUseCases = (deps: HolderDeps) => {
  const { repo, clock } = deps;
  const nowIso = () => clock.now().toISOString();

  /** The card and the application it was issued for. 404 for a card nobody was issued. */
  const loadCardAndApplication = async (cardNumber: string): Promise<{ card: Card; app: Application }> => {
    const card = await loadCard(repo.cards, cardNumber);
    const app = card.applicationId ? await repo.applications.get(card.applicationId) : undefined;
    if (!isApplication(app)) {
      throw new NotFoundError(`no card ${cardNumber} was issued to a holder`, {
        field: 'cardNumber',
        rule: 'card.unknown',
      });
    }
    return { card, app };
  };

  const reloadApplication = async (id: string): Promise<Application> => {
    const app = await repo.applications.get(id);
    if (!isApplication(app))
      throw new NotFoundError(`application ${id} is gone`, { rule: 'application.unknown' });
    return app;
  };

  /** Conditional save of the application after `change`; re-reads and re-decides on a lost race. */
  const saveApplication = async (
    app: Application,
    change: (current: Application) => Application | null,
  ): Promise<Application> => {
    let current = app;
    for (let attempt = 1; ; attempt++) {
      const next = change(current);
      if (!next) return current;
      try {
        return await repo.applications.save({ ...next, updatedAt: nowIso() });
      } catch (e) {
        if (!(e instanceof VersionConflictError) || attempt >= SAVE_ATTEMPTS) throw e;
        await sleep(Math.random() * Math.min(20, 2 ** attempt));
        current = await reloadApplication(app.id);
      }
    }
  };

  /**
   * Checks the subscriber code of the card's application. Wrong: the failure is counted (the 4th
   * locks) and 401 (or 423) is thrown. Right: earlier failures are forgotten. Returns the application
   * as stored afterwards.
   */
  const checkCode = async (app: Application, input: string, operation: string, cardNumber: string) => {
    const code = parseSubscriberCode('subscriberCode', input);
    if (isLocked(app.credential)) throw lockedError();
    const verified: SubscriberCredential = app.credential;
    if (!(await verifySubscriberCode(code, verified, deps.secrets))) {
      let counted = false;
      const saved = await saveApplication(app, (cur) => {
        counted = false;
        if (isLocked(cur.credential)) return null; // other wrong tries locked it meanwhile
        counted = true;
        return { ...cur, credential: afterFailure(cur.credential, clock.now()) };
      });
      if (counted) {
        await deps.audit.append({
          actor: holderActor(app),
          action: isLocked(saved.credential) ? 'subscriber_code.locked' : 'subscriber_code.failed',
          subject: { type: 'application', id: app.id },
          details: { operation, cardNumber, failures: saved.credential.failures },
        });
      }
      if (isLocked(saved.credential)) throw lockedError();
      throw wrongCode(remainingAttempts(saved.credential));
    }
    return saveApplication(app, (cur) => {
      if (isLocked(cur.credential)) throw lockedError(); // a 4th wrong try won the race
      if (cur.credential.hash !== verified.hash) throw wrongCode(remainingAttempts(cur.credential)); // changed meanwhile
      return cur.credential.failures === 0 ? null : { ...cur, credential: afterSuccess(cur.credential) };
    });
  };

  /** Single use at the server: a challenge gets one authorization, ever (while remembered). */
  const claimChallenge = async (cardNumber: string, challenge: string) => {
    const until = new Date(clock.now().getTime() + USED_CHALLENGE_HOURS * 3600_000).toISOString();
    if (!(await repo.markers.claim(`card-challenge:${cardNumber}:${challenge}`, until))) {
      throw new ConflictError(
        'this card challenge was already used; read a fresh challenge from the card and try again',
        { field: 'challenge', rule: 'challenge.used' },
      );
    }
  };

  const authorize = async (cardNumber: string, challenge: string) => {
    await claimChallenge(cardNumber, challenge);
    return createUnblockAuthorization({
      adminKey: await deriveCardAdminKey(deps.secrets, cardNumber),
      cardNumber,
      challenge,
      expiresAt: new Date(clock.now().getTime() + AUTHORIZATION_MINUTES * 60_000),
    });
  };

  /** The application `activated` with the sealed initial code destroyed (idempotent). */
  const finishActivation = (app: Application, activatedAt: string) =>
    saveApplication(app, (cur) => {
      if (cur.status === 'activated' && !cur.credential.sealedInitialCode) return null;
      return {
        ...cur,
        status:
          cur.status === 'activated'
            ? cur.status
            : transition(applicationLifecycle, 'application', cur.status, 'activated'),
        activatedAt: cur.activatedAt ?? activatedAt,
        credential: afterActivation(cur.credential),
      };
    });

  const current = (card: Card) => [card.certificateSerials?.signature, card.certificateSerials?.encryption];

  return {
    async activate(cardNumber: string, req: UnblockRequest): Promise<ActivationResponse> {
      const loaded = await loadCardAndApplication(cardNumber);
      let { card } = loaded;
      const app = await checkCode(loaded.app, req.subscriberCode, 'activation', cardNumber);
      const repeated = card.status === 'active';
      if (!repeated && card.status !== 'mailed') throw cardStateError(card, 'activate it');
      if (!repeated) {
        const certs = await certificatesOfCard({ certificates: repo.certificates }, card);
        const live = certs.filter((c) => current(card).includes(c.serialNumber));
        if (live.length !== 2 || live.some((c) => c.status !== 'good')) {
          throw new ConflictError(
            `the certificates of card ${cardNumber} are not valid; call customer service`,
            {
              rule: 'certificate.not_good',
            },
          );
        }
      }
      // The challenge first: a replayed one is refused before anything else is touched.
      const authorization = await authorize(cardNumber, req.challenge);
      if (!repeated) {
        await claimCardOperation({ markers: repo.markers, clock }, card, 'activate');
        const at = nowIso();
        card = await saveCard(repo.cards, card, (cur) => {
          if (cur.status === 'active') return { ...cur, updatedAt: at };
          if (cur.status !== 'mailed') throw cardStateError(cur, 'activate it');
          return {
            ...cur,
            status: transition(cardLifecycle, 'card', cur.status, 'active'),
            activatedAt: at,
            updatedAt: at,
          };
        });
      }
      const activatedAt = card.activatedAt ?? nowIso();
      const wasActivated = app.status === 'activated';
      await finishActivation(app, activatedAt);
      await deps.audit.append({
        actor: holderActor(app),
        action: repeated ? 'card.activate.repeat' : 'card.activate',
        subject: { type: 'card', id: cardNumber },
        details: {
          applicationId: app.id,
          authorizationExpiresAt: authorization.expiresAt,
          ...(repeated && !wasActivated ? { finishedApplication: true } : {}),
        },
      });
      return { cardNumber, status: 'active', activatedAt, repeated, authorization };
    },

    async unblockPin(cardNumber: string, req: UnblockRequest): Promise<PinUnblockResponse> {
      const { card, app } = await loadCardAndApplication(cardNumber);
      await checkCode(app, req.subscriberCode, 'pin-unblock', cardNumber);
      if (card.status !== 'active') throw cardStateError(card, 'unblock the PIN');
      const authorization = await authorize(cardNumber, req.challenge);
      await deps.audit.append({
        actor: holderActor(app),
        action: 'card.pin_unblock',
        subject: { type: 'card', id: cardNumber },
        details: { authorizationExpiresAt: authorization.expiresAt },
      });
      return { cardNumber, authorization };
    },

    async suspend(cardNumber: string, subscriberCode: string): Promise<CardStateResponse> {
      const { app } = await loadCardAndApplication(cardNumber);
      await checkCode(app, subscriberCode, 'suspension', cardNumber);
      return deps.cardState.suspend({ cardNumber, by: 'holder', actor: holderActor(app) });
    },

    async resume(cardNumber: string, subscriberCode: string): Promise<CardStateResponse> {
      const { app } = await loadCardAndApplication(cardNumber);
      await checkCode(app, subscriberCode, 'resumption', cardNumber);
      return deps.cardState.resume({ cardNumber, actor: holderActor(app) });
    },

    /**
     * Before activation only: re-send the initial code to the registered e-mail. The same answer
     * whatever happened, so that nobody learns whether an ARC number applied or which e-mail it gave;
     * at most RETRIEVALS_PER_HOUR per ARC number, counted before anything is looked up.
     */
    async retrieveSubscriberCode(req: CodeRetrievalRequest): Promise<CodeRetrievalResponse> {
      const arc = parseArcNumber(req.arcNumber, 'arcNumber');
      const arcKey = await deps.arcKey(arc.value);
      const now = clock.now();
      const hour = Math.floor(now.getTime() / 3600_000);
      const windowEnd = new Date((hour + 1) * 3600_000);
      let allowed = false;
      for (let i = 0; i < RETRIEVALS_PER_HOUR && !allowed; i++) {
        allowed = await repo.markers.claim(`code-retrieval:${arcKey}:${hour}:${i}`, windowEnd.toISOString());
      }
      if (!allowed) {
        throw new RateLimitedError(
          'too many subscriber code retrievals for this ARC number; try again later',
          Math.max(1, Math.ceil((windowEnd.getTime() - now.getTime()) / 1000)),
        );
      }
      const email = req.email.trim().toLowerCase();
      const match = (await repo.applications.listByArcKey(arcKey)).find(
        (a) =>
          a.status !== 'activated' &&
          a.credential.sealedInitialCode !== undefined &&
          a.email.trim().toLowerCase() === email,
      );
      if (match) {
        const code = await openInitialCode(match.credential, match.id, deps.secrets);
        // To the e-mail registered at the counter, never to an address taken from this request.
        await deps.mailer.send(
          subscriberCodeRetrievalMail(deps.mail, {
            to: match.email,
            applicationId: match.id,
            name: match.name,
            subscriberCode: code,
          }),
        );
      }
      await deps.audit.append({
        actor: { type: 'holder', id: match ? match.id : 'unidentified' },
        action: match ? 'subscriber_code.retrieval' : 'subscriber_code.retrieval_unmatched',
        subject: match ? { type: 'application', id: match.id } : { type: 'arc-key', id: arcKey.slice(0, 16) },
        details: { arcLast4: arc.last4 },
      });
      return { accepted: true, message: RETRIEVAL_MESSAGE };
    },

    /** Step 1 of a code change: a nonce for the card to sign, kept 5 minutes. */
    async codeChangeChallenge(cardNumber: string): Promise<CodeChallengeResponse> {
      const { card } = await loadCardAndApplication(cardNumber);
      if (card.status !== 'active' && card.status !== 'mailed') throw cardStateError(card, 'change the code');
      const nonce = randomBytes(32).toString('base64url');
      const expiresAt = new Date(clock.now().getTime() + AUTHORIZATION_MINUTES * 60_000).toISOString();
      await repo.markers.claim(`code-change-nonce:${nonce}`, expiresAt, { cardNumber });
      return { cardNumber, nonce, expiresAt, message: codeChangeMessage({ cardNumber, nonce }) };
    },

    /**
     * Step 2: the new code, proved by the card's signature key over the challenge message. The old
     * code is not asked for: this is how a forgotten or locked code is replaced. Clears the failures and
     * the lock, and destroys the sealed initial code.
     */
    async changeSubscriberCode(req: CodeChangeRequest): Promise<CodeChangeResponse> {
      const newCode = parseNewSubscriberCode('newSubscriberCode', req.newSubscriberCode);
      const badProof = (why: string) =>
        new AuthenticationError(`the card's proof is not valid: ${why}`, {
          field: 'signature',
          rule: 'code_change.proof',
        });
      const issued = await repo.markers.get(`code-change-nonce:${req.nonce}`);
      if (!issued || issued.value?.cardNumber !== req.cardNumber) {
        throw new AuthenticationError(
          'the nonce is unknown, expired or for another card; ask for a new one',
          {
            field: 'nonce',
            rule: 'code_change.nonce',
          },
        );
      }
      // Used once, whatever the outcome: a wrong signature cannot be retried on the same nonce.
      if (!(await repo.markers.claim(`code-change-used:${req.nonce}`, issued.expiresAt))) {
        throw new AuthenticationError('this nonce was already used; ask for a new one', {
          field: 'nonce',
          rule: 'code_change.nonce',
        });
      }
      const { card, app } = await loadCardAndApplication(req.cardNumber);
      if (card.status !== 'active' && card.status !== 'mailed') throw cardStateError(card, 'change the code');
      const serial = card.certificateSerials?.signature;
      const cert = serial ? await repo.certificates.get(serial) : undefined;
      if (!cert?.der)
        throw new ConflictError(`card ${req.cardNumber} has no signature certificate`, {
          rule: 'certificate.missing',
        });
      if (cert.status !== 'good' || Date.parse(cert.notAfter) <= clock.now().getTime()) {
        throw new ConflictError(
          `the signature certificate of card ${req.cardNumber} is ${cert.status === 'good' ? 'expired' : cert.status}; a suspended, revoked or expired card cannot change the code`,
          { rule: 'certificate.not_good' },
        );
      }
      const publicKey = new X509Certificate(Buffer.from(cert.der, 'base64')).publicKey;
      const message = Buffer.from(
        codeChangeMessage({ cardNumber: req.cardNumber, nonce: req.nonce }),
        'utf8',
      );
      const signature = Buffer.from(req.signature, 'base64');
      let valid = false;
      try {
        valid = verifySignature('sha256', message, { key: publicKey, dsaEncoding: 'der' }, signature);
      } catch {
        valid = false;
      }
      if (!valid) {
        await deps.audit.append({
          actor: holderActor(app),
          action: 'subscriber_code.change_refused',
          subject: { type: 'application', id: app.id },
          details: { cardNumber: req.cardNumber, reason: 'signature does not verify' },
        });
        throw badProof('the signature does not verify with the card’s signature certificate');
      }
      const hashed = await hashSubscriberCode(newCode, deps.secrets, { log2N: deps.scryptLog2N });
      const wasLocked = isLocked(app.credential);
      const changedAt = clock.now();
      await saveApplication(app, (cur) => ({ ...cur, credential: afterChange(hashed, changedAt) }));
      await deps.audit.append({
        actor: holderActor(app),
        action: 'subscriber_code.change',
        subject: { type: 'application', id: app.id },
        details: { cardNumber: req.cardNumber, proof: `signature:${cert.serialNumber}`, unlocked: wasLocked },
      });
      return { cardNumber: req.cardNumber, changedAt: changedAt.toISOString() };
    },

    /**
     * A new e-mail in both certificates: re-issued on the same card keys by the CA as a re-issue of the
     * pair in force (`issuance` id + `supersedes`: the CA stores the new pair, then revokes the old one as
     * superseded, with `supersededBy`), then the card and the application point at the new pair.
     *
     * The issuance id is derived from the pair on the card record and the new e-mail, so a retry after a
     * crash anywhere (in the CA, before the card or the application was saved) repeats the same re-issue
     * and the CA hands back the pair the first try issued. A pair on the card record that a re-issue
     * already superseded (it has a `supersededBy`) is therefore still a valid base; a retry for another
     * e-mail re-issues from it again and the pair the interrupted try left is superseded too. The card
     * must be active (the holder's PIN writes the new certificates to the card).
     */
    async changeEmail(
      cardNumber: string,
      req: { subscriberCode: string; email: string },
    ): Promise<EmailChangeResponse> {
      const loaded = await loadCardAndApplication(cardNumber);
      const app = await checkCode(loaded.app, req.subscriberCode, 'email-change', cardNumber);
      let card = loaded.card;
      if (card.status !== 'active') throw cardStateError(card, 'change the e-mail');
      const email = req.email.trim();
      const key = await deps.emailKey(email.toLowerCase());
      const actor = holderActor(app);
      const [sig, enc] = await Promise.all(
        current(card).map((s) => (s ? repo.certificates.get(s) : undefined)),
      );
      if (!sig || !enc || !reissueBase(sig, card) || !reissueBase(enc, card)) {
        throw new ConflictError(
          `the certificates of card ${cardNumber} are not valid; call customer service`,
          { rule: 'certificate.not_good' },
        );
      }

      const before = { signature: sig.serialNumber, encryption: enc.serialNumber };
      const upToDate =
        sig.status === 'good' && enc.status === 'good' && sig.emailKey === key && enc.emailKey === key;
      let changed = false;
      if (!upToDate) {
        await claimCardOperation({ markers: repo.markers, clock }, card, 'email-change');
        const issued = await deps.ca.issueCardCertificates({
          applicationId: app.id,
          cardNumber,
          holderName: sig.subjectName,
          subjectSerial: sig.subjectSerial,
          email,
          keys: card.keys,
          actor,
          issuance: emailIssuanceId(before, key),
          supersedes: [before.signature, before.encryption],
        });
        if (issued.signature.emailKey !== key || issued.encryption.emailKey !== key) {
          throw new ConflictError(
            `the certificates of card ${cardNumber} could not be re-issued; try again`,
            { rule: 'certificate.reissue' },
          );
        }
        const serials = {
          signature: issued.signature.serialNumber,
          encryption: issued.encryption.serialNumber,
        };
        const at = nowIso();
        card = await saveCard(repo.cards, card, (cur) => {
          if (cur.status !== 'active') throw cardStateError(cur, 'change the e-mail');
          return { ...cur, certificateSerials: serials, updatedAt: at };
        });
        changed = true;
      }
      // The application follows the card (also finishing a change that stopped after the card save).
      const inForce = {
        signature: card.certificateSerials!.signature,
        encryption: card.certificateSerials!.encryption,
      };
      await saveApplication(app, (cur) =>
        cur.certificateSerials?.signature === inForce.signature &&
        cur.certificateSerials?.encryption === inForce.encryption &&
        (!changed || cur.email === email)
          ? null
          : { ...cur, email, certificateSerials: inForce },
      );
      // Anything else still live on the card (a pair an interrupted change to another e-mail left).
      const others = await supersedeOthers(card, actor);
      const superseded = [...new Set([...(changed ? [before.signature, before.encryption] : []), ...others])];
      if (changed || superseded.length) {
        await deps.audit.append({
          actor,
          action: changed ? 'card.email_change' : 'card.email_change.finish',
          subject: { type: 'card', id: cardNumber },
          details: {
            signature: card.certificateSerials?.signature,
            encryption: card.certificateSerials?.encryption,
            superseded,
          },
        });
      }
      return { ...(await certificatesOf(card)), changed, superseded };
    },

    /** The card's current certificates and the chain, for a holder session of the card's application. */
    async cardCertificates(
      cardNumber: string,
      session: { applicationId: string },
    ): Promise<CardCertificatesResponse> {
      const card = await repo.cards.get(cardNumber);
      const notYours = () =>
        new NotFoundError(`no card ${cardNumber} belongs to this session`, {
          field: 'cardNumber',
          rule: 'card.unknown',
        });
      if (!card?.applicationId) throw notYours();
      if (card.applicationId !== session.applicationId) {
        // A session opens the holder's newest application; a card of an earlier one (the holder applied
        // again) is still theirs: the same ARC number, compared by its keyed hash.
        const [mine, owner] = await Promise.all([
          repo.applications.get(session.applicationId),
          repo.applications.get(card.applicationId),
        ]);
        if (!isApplication(mine) || !isApplication(owner) || mine.arcKey !== owner.arcKey) throw notYours();
      }
      return certificatesOf(card);
    },
  };

  /** Both certificates of the card as the card client writes them. */
  async function certificatesOf(card: Card): Promise<CardCertificatesResponse> {
    const [sig, enc] = await Promise.all(
      current(card).map((s) => (s ? repo.certificates.get(s) : undefined)),
    );
    if (!sig?.der || !enc?.der) {
      throw new ConflictError(`card ${card.cardNumber} has no issued certificates`, {
        rule: 'certificate.missing',
      });
    }
    return {
      cardNumber: card.cardNumber,
      signature: { serialNumber: sig.serialNumber, der: sig.der },
      encryption: { serialNumber: enc.serialNumber, der: enc.der },
      chain: await deps.ca.chain(),
    };
  }

  /** Every live certificate of the card other than the pair in force: revoked as superseded. */
  async function supersedeOthers(card: Card, actor: Actor): Promise<string[]> {
    const inForce = current(card);
    const others = (await certificatesOfCard({ certificates: repo.certificates }, card)).filter(
      (c) => !inForce.includes(c.serialNumber) && (c.status === 'good' || c.status === 'hold'),
    );
    const done: string[] = [];
    for (const old of others) {
      const successor =
        old.profile === 'holder-signature'
          ? card.certificateSerials?.signature
          : card.certificateSerials?.encryption;
      await deps.ca.revoke(old.serialNumber, 'superseded' satisfies RevocationReason, actor);
      // Which certificate took its place, for the public query and the audit trail.
      for (let attempt = 1; successor && attempt <= 5; attempt++) {
        const revoked = await repo.certificates.get(old.serialNumber);
        if (!revoked || revoked.supersededBy === successor) break;
        try {
          await repo.certificates.save({ ...revoked, supersededBy: successor, updatedAt: nowIso() });
          break;
        } catch (e) {
          if (!(e instanceof VersionConflictError)) throw e;
        }
      }
      done.push(old.serialNumber);
    }
    return done;
  }
};

export type HolderUseCases = ReturnType<typeof createHolderUseCases>;
