import { checkReissueScope, parseReissueEvent } from '../../functions/aws/tasks/sign-certificates.js';
import type { Card } from '../../shared/domain/model.js';
import { ForbiddenError, ValidationError } from '../../shared/errors.js';
import type { Repository } from '../../shared/ports/repository.js';

/**
 * The AWS path of an e-mail change: the portal function asks the issuance signer to re-issue
 * (`{ op: 'issueCardCertificates', input }`). The signer must pass the re-issue options through to the
 * CA (an issuance id and the pair it supersedes) and accept only a re-issue of the card's pair in force.
 */

const card = {
  cardNumber: 'AC00000000000001',
  applicationId: 'app-1',
  certificateSerials: { signature: 'abc1', encryption: 'abc2' },
} as unknown as Card;
const repo = {
  cards: { get: async (n: string) => (n === card.cardNumber ? card : undefined) },
} as unknown as Pick<Repository, 'cards'>;

const input = {
  applicationId: 'app-1',
  cardNumber: card.cardNumber,
  holderName: 'NGUYEN THI HOA',
  subjectSerial: '4821390057716624',
  email: 'new@example.org',
  keys: { signature: { spki: 'AA==' }, encryption: { spki: 'AQ==' } },
  actor: { type: 'holder', id: 'app-1' },
  issuance: 'email:0123456789abcdef',
  supersedes: ['abc1', 'abc2'],
};
const event = (over: Record<string, unknown> = {}) => ({
  op: 'issueCardCertificates',
  input: { ...input, ...over },
});

describe('issuance signer: the portal re-issue request', () => {
  test('keeps the issuance id and the superseded serials (a schema that dropped them would re-issue nothing)', () => {
    expect(parseReissueEvent(event())).toMatchObject({
      issuance: input.issuance,
      supersedes: ['abc1', 'abc2'],
      email: 'new@example.org',
    });
  });

  test.each([
    ['no issuance id', { issuance: undefined }, 'input.issuance'],
    ['no superseded pair', { supersedes: undefined }, 'input.supersedes'],
    ['one serial only', { supersedes: ['abc1'] }, 'input.supersedes'],
    ['a serial that is not hex', { supersedes: ['abc1', 'xyz'] }, 'input.supersedes.1'],
  ])('refuses %s (400 naming the field)', (_what, over, field) => {
    try {
      parseReissueEvent(event(over));
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe(field);
    }
  });

  test('accepts a re-issue of the pair in force on the card record, in either order', async () => {
    await expect(checkReissueScope(parseReissueEvent(event()), repo)).resolves.toBeUndefined();
    await expect(
      checkReissueScope(parseReissueEvent(event({ supersedes: ['abc2', 'abc1'] })), repo),
    ).resolves.toBeUndefined();
  });

  test.each([
    ['another pair', ['abc1', 'abc3']],
    ['the same serial twice', ['abc1', 'abc1']],
  ])('refuses to supersede %s', async (_what, supersedes) => {
    await expect(checkReissueScope(parseReissueEvent(event({ supersedes })), repo)).rejects.toBeInstanceOf(
      ForbiddenError,
    );
  });

  test('refuses an unknown card', async () => {
    await expect(
      checkReissueScope(parseReissueEvent(event({ cardNumber: 'AC00000000000009' })), repo),
    ).rejects.toBeInstanceOf(ForbiddenError);
  });
});
