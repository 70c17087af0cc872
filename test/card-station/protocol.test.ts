import { createHmac } from 'node:crypto';
import { createTestSecretKeys } from '../../shared/adapters/secrets/local.js';
import {
  cardNumberAt,
  isS10,
  isTaiwanRegisteredMail,
  randomRegisteredMailNumber,
  s10,
  s10CheckDigit,
} from '../../shared/card/numbers.js';
import {
  adminKeyCheckValue,
  cardAdminKeyMessage,
  createUnblockAuthorization,
  deriveCardAdminKey,
  newUnblockChallenge,
  verifyUnblockAuthorization,
} from '../../shared/card/unblock.js';

describe('unblock protocol (shared by the server and the card)', () => {
  const adminKey = Buffer.alloc(32, 7);
  const now = new Date('2026-05-04T02:00:00.000Z');

  it('K_card is HMAC(card-master, "card-admin|" + cardNumber), different per card', async () => {
    const secrets = createTestSecretKeys({ seed: 'x' });
    const k1 = await deriveCardAdminKey(secrets, 'TP00000000000001');
    expect(Buffer.from(k1)).toEqual(
      Buffer.from(await secrets.mac('card-master', cardAdminKeyMessage('TP00000000000001'))),
    );
    expect(new TextDecoder().decode(cardAdminKeyMessage('TP00000000000001'))).toBe(
      'card-admin|TP00000000000001',
    );
    expect(Buffer.from(await deriveCardAdminKey(secrets, 'TP00000000000002'))).not.toEqual(Buffer.from(k1));
  });

  it('the MAC is HMAC-SHA256(K_card, "unblock|" + challenge + "|" + expiresAt) in hex', () => {
    const challenge = newUnblockChallenge();
    expect(challenge).toMatch(/^[0-9a-f]{32}$/);
    const auth = createUnblockAuthorization({
      adminKey,
      cardNumber: 'TP00000000000001',
      challenge,
      expiresAt: new Date(now.getTime() + 60_000),
    });
    const expected = createHmac('sha256', adminKey)
      .update(`unblock|${challenge}|2026-05-04T02:01:00.000Z`)
      .digest('hex');
    expect(auth).toEqual({
      cardNumber: 'TP00000000000001',
      challenge,
      expiresAt: '2026-05-04T02:01:00.000Z',
      mac: expected,
    });
    const verdict = (over: Partial<typeof auth>, pending: string | null = challenge, at = now) =>
      verifyUnblockAuthorization({
        adminKey,
        cardNumber: 'TP00000000000001',
        pendingChallenge: pending ?? undefined,
        auth: { ...auth, ...over },
        now: at,
      });
    expect(verdict({})).toBe('ok');
    expect(verdict({}, null)).toBe('no_challenge');
    expect(verdict({}, newUnblockChallenge())).toBe('bad_mac');
    expect(verdict({ expiresAt: '2026-05-04T03:00:00.000Z' })).toBe('bad_mac');
    expect(verdict({ mac: 'zz' })).toBe('bad_mac');
    expect(verdict({ cardNumber: 'TP00000000000002' })).toBe('wrong_card');
    expect(verdict({}, challenge, new Date(now.getTime() + 60_000))).toBe('expired');
    expect(adminKeyCheckValue(adminKey)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('card and registered-mail numbers', () => {
  it('computes UPU S10 check digits (including the 10 → 0 and 11 → 5 cases)', () => {
    expect(s10CheckDigit('47312482')).toBe(9); // the UPU's own example, EE 47312482 9 GB
    expect(isS10('EE473124829GB')).toBe(true);
    expect(isS10('EE473124828GB')).toBe(false);
    // Find serials whose raw check is 10 and 11 to pin the special cases.
    const raw = (serial: string) =>
      11 - ([...serial].reduce((a, d, i) => a + Number(d) * [8, 6, 4, 2, 3, 5, 9, 7][i]!, 0) % 11);
    const ten = Array.from({ length: 200 }, (_, i) => String(i).padStart(8, '0')).find((s) => raw(s) === 10)!;
    const eleven = Array.from({ length: 200 }, (_, i) => String(i).padStart(8, '0')).find(
      (s) => raw(s) === 11,
    )!;
    expect(s10CheckDigit(ten)).toBe(0);
    expect(s10CheckDigit(eleven)).toBe(5);
    for (let i = 0; i < 50; i++) expect(isTaiwanRegisteredMail(randomRegisteredMailNumber())).toBe(true);
    expect(isTaiwanRegisteredMail(s10('47312482', 'EE'))).toBe(false);
    expect(isTaiwanRegisteredMail(s10('47312482', 'RR', 'GB'))).toBe(false);
  });

  it('numbers a stock range: prefix + 14 digits', () => {
    expect(cardNumberAt('TP', 12n, 3)).toBe('TP00000000000015');
    expect(() => cardNumberAt('tp', 1n, 0)).toThrow();
    expect(() => cardNumberAt('TP', 99_999_999_999_999n, 1)).toThrow();
  });
});
