import {
  claimsFor,
  handler,
  type PreTokenGenerationEvent,
  TokenRefused,
} from '../../functions/aws/cognito/token-claims.js';

/** The Cognito trigger decides the `role` (and `station_id`) claims the API authorizes on. */

const staff = (groups: string[], attributes: Record<string, string> = {}): PreTokenGenerationEvent => ({
  triggerSource: 'TokenGeneration_Authentication',
  request: { userAttributes: attributes, groupConfiguration: { groupsToOverride: groups } },
  response: {},
});

test('an officer gets the officer role and the station from the attribute only ops can write', () => {
  expect(claimsFor(staff(['officer'], { 'custom:station_id': 'TPE01' }))).toEqual({
    role: 'officer',
    station_id: 'TPE01',
  });
});

test('ops get the ops role; other groups do not count', () => {
  expect(claimsFor(staff(['ops', 'readers']))).toEqual({ role: 'ops' });
});

test('a card station (client credentials) is always the card-station role', () => {
  expect(
    claimsFor({ triggerSource: 'TokenGeneration_ClientCredentials', request: {}, response: {} }),
  ).toEqual({ role: 'card-station' });
});

test.each([
  ['both duties', staff(['officer', 'ops'], { 'custom:station_id': 'TPE01' })],
  ['no duty', staff([])],
  ['an officer without a station', staff(['officer'])],
  ['an officer with a malformed station', staff(['officer'], { 'custom:station_id': 'tpe 01' })],
])('no token for %s', (_what, event) => {
  expect(() => claimsFor(event)).toThrow(TokenRefused);
});

test('the handler writes the claims into the access token (and the ID token for staff)', async () => {
  const out = await handler(staff(['officer'], { 'custom:station_id': 'KHH02' }));
  expect(out.response).toEqual({
    claimsAndScopeOverrideDetails: {
      accessTokenGeneration: { claimsToAddOrOverride: { role: 'officer', station_id: 'KHH02' } },
      idTokenGeneration: { claimsToAddOrOverride: { role: 'officer', station_id: 'KHH02' } },
    },
  });
  const m2m = await handler({
    triggerSource: 'TokenGeneration_ClientCredentials',
    request: {},
    response: {},
  });
  expect(m2m.response).toEqual({
    claimsAndScopeOverrideDetails: {
      accessTokenGeneration: { claimsToAddOrOverride: { role: 'card-station' } },
    },
  });
});
