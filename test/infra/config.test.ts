import { DeployConfigSchema, deployConfigFrom, kmsKeySpecOf } from '../../infra/config.js';
import { cdkJsonContext } from './support.js';

/** Deployment settings come from CDK context, validated once, with defaults that synthesize offline. */

const from = (context: Record<string, unknown>, env: Record<string, string | undefined> = {}) =>
  deployConfigFrom((k) => context[k], env);

test('cdk.json alone is a valid configuration, matching the key ceremony defaults', () => {
  const c = from(cdkJsonContext());
  expect(c).toMatchObject({
    prefix: 'acdc',
    region: 'ap-east-2',
    mailRegion: 'ap-northeast-1',
    auth: 'cognito',
    caKeyAlgorithm: 'RSA-4096',
    ocspKeyAlgorithm: 'RSA-2048',
  });
  expect(c.account).toBeUndefined();
});

test('the account comes from the CLI environment unless set in context', () => {
  expect(from({}, { CDK_DEFAULT_ACCOUNT: '111122223333' }).account).toBe('111122223333');
  expect(from({ 'acdc:account': '444455556666' }, { CDK_DEFAULT_ACCOUNT: '111122223333' }).account).toBe(
    '444455556666',
  );
});

test('command-line strings are coerced and checked', () => {
  const c = from({
    'acdc:apiRateLimit': '50',
    'acdc:oidcAudience': '{"officer":"a","ops":"b","card-station":"c"}',
    'acdc:auth': 'oidc',
    'acdc:oidcIssuer': 'https://idp.example.org/',
  });
  expect(c.apiRateLimit).toBe(50);
  expect(c.oidcAudience).toEqual({ officer: 'a', ops: 'b', 'card-station': 'c' });
  expect(() => from({ 'acdc:apiRateLimit': '0' })).toThrow(/acdc:apiRateLimit/);
  expect(() => from({ 'acdc:prefix': 'Bad_Prefix' })).toThrow(/acdc:prefix/);
});

test('OIDC needs an issuer and an audience; a custom domain needs its certificate', () => {
  expect(() => from({ 'acdc:auth': 'oidc' })).toThrow(/oidcIssuer/);
  expect(() => from({ 'acdc:apiDomainName': 'api.example.org' })).toThrow(/apiDomainName/);
  expect(
    from({
      'acdc:pkiDomainName': 'pki.example.org',
      'acdc:pkiCertificateArn': 'arn:aws:acm:us-east-1:1:certificate/x',
    }).pkiDomainName,
  ).toBe('pki.example.org');
});

test('every CA key algorithm maps to a KMS key spec', () => {
  for (const a of DeployConfigSchema.shape.caKeyAlgorithm.unwrap().options)
    expect(kmsKeySpecOf(a)).toMatch(/^(RSA|ECC)_/);
});
