import { Readable } from 'node:stream';
import { GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HttpResponse } from '@smithy/core/protocols';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { withEdgeChecks } from '../../functions/aws/api.js';
import {
  answer,
  checkReissueRequest,
  invoke,
  materialDoc,
  materialFromDoc,
  refusingSigner,
} from '../../functions/aws/ca.js';
import { lazyHandler } from '../../functions/aws/deps.js';
import { remoteFormRenderer } from '../../functions/aws/documents.js';
import { flushMetrics, instrumentKmsClient, METRIC } from '../../functions/aws/metrics.js';
import { ORIGIN_VERIFY_HEADER } from '../../functions/aws/origin.js';
import { handler as documentsHandler, parseRenderFormRequest } from '../../functions/documents/index.js';
import { publishCa, repositoryObjects } from '../../infra/publish-ca.js';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import type { PkiMaterial } from '../../shared/ca/material.js';
import { pkiUrls } from '../../shared/ca/profiles.js';
import type { ApplicationFormInput } from '../../shared/documents/application-form.js';
import type { Card, CertificateRecord } from '../../shared/domain/model.js';
import {
  ConflictError,
  DependencyError,
  ForbiddenError,
  InternalError,
  NotFoundError,
  ValidationError,
} from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { Repository } from '../../shared/ports/repository.js';
import { buildHierarchy, cardKeys, materialOf, SoftwareSigner } from '../ca/helpers.js';

/**
 * The AWS composition root's own logic, at its edges: the CA material document, the signer's check of a
 * re-issue, the remote call protocol, the origin header check, lazy handlers and the KMS metrics.
 */

const urls = pkiUrls('http://pki.example.org');

const testMaterial = async (mode: 'aws' | 'local' = 'aws'): Promise<PkiMaterial> => {
  const signer = new SoftwareSigner();
  const refs = {
    root: signer.add('arn:aws:kms:ap-east-2:111122223333:key/root', 'EC-P256'),
    issuing: signer.add('arn:aws:kms:ap-east-2:111122223333:key/issuing', 'EC-P256'),
    ocsp: signer.add('arn:aws:kms:ap-east-2:111122223333:key/ocsp', 'EC-P256'),
  };
  const h = await buildHierarchy(signer, refs, new Date('2026-01-01T00:00:00Z'), urls);
  return materialOf(h, {
    mode,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    publicBaseUrl: 'http://pki.example.org',
    urls,
    rootCrl: {
      der: Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01),
      thisUpdate: new Date('2026-01-01T00:00:00Z'),
      nextUpdate: new Date('2027-01-01T00:00:00Z'),
    },
  });
};

describe('CA material in the table', () => {
  test('survives the document round trip: same certificates, keys, subjects and chain', async () => {
    const m = await testMaterial();
    const back = materialFromDoc(JSON.parse(JSON.stringify(materialDoc(m))));
    for (const id of ['root', 'issuing', 'ocspResponder'] as const) {
      expect(Buffer.from(back[id].certificate).equals(Buffer.from(m[id].certificate))).toBe(true);
      expect(back[id].key).toEqual(m[id].key);
      expect(back[id].subjectText).toBe(m[id].subjectText);
      expect(Buffer.from(back[id].spki).equals(Buffer.from(m[id].spki))).toBe(true);
    }
    expect(back.chain.map((c) => Buffer.from(c).toString('hex'))).toEqual(
      m.chain.map((c) => Buffer.from(c).toString('hex')),
    );
    expect(back.urls).toEqual(urls);
    expect(Array.from(back.rootCrl)).toEqual(Array.from(m.rootCrl));
  });

  test('publish-ca stores the document (versioned) and the three public files; refuses a local CA', async () => {
    const m = await testMaterial();
    const repo = createMemoryRepository();
    const puts: { key: string; contentType: string }[] = [];
    const targets = {
      docs: repo.docs,
      putObject: async (key: string, _body: Uint8Array, contentType: string) => {
        puts.push({ key, contentType });
      },
    };
    expect((await publishCa(m, targets)).version).toBe(1);
    expect((await publishCa(m, targets)).version).toBe(2);
    expect(puts.map((p) => p.key)).toEqual(
      [...repositoryObjects(m), ...repositoryObjects(m)].map((o) => o.key),
    );
    expect(puts[0]).toEqual({ key: 'pki/certs/root-ca.cer', contentType: 'application/pkix-cert' });
    const stored = await repo.docs.get<ReturnType<typeof materialDoc>>('ca-material');
    expect(stored?.format).toBe('acdc-ca-material/1');
    await expect(publishCa(await testMaterial('local'), targets)).rejects.toThrow(/local mode/);
  });

  test('a function without a CA key is told so when anything tries to sign', async () => {
    const s = refusingSigner('portal');
    await expect(
      s.sign({ provider: 'kms', keyId: 'k', algorithm: 'EC-P256' }, new Uint8Array(1)),
    ).rejects.toThrow(/portal function holds no CA key/);
  });
});

describe("the issuance signer's check of a re-issue from the portal", () => {
  const keys = cardKeys('EC-P256', 'EC-P256');
  const card = {
    cardNumber: 'AC00000000000001',
    status: 'activated',
    keys,
    applicationId: 'app-1',
    certificateSerials: { signature: 'abc1', encryption: 'abc2' },
  } as unknown as Card;
  const signature = {
    serialNumber: 'abc1',
    subjectName: 'NGUYEN THI HOA',
    subjectSerial: '4821390057716624',
  } as CertificateRecord;
  const repo = {
    cards: { get: async (n: string) => (n === card.cardNumber ? card : undefined) },
    certificates: { get: async (s: string) => (s === 'abc1' ? signature : undefined) },
  } as unknown as Pick<Repository, 'cards' | 'certificates'>;
  const request = {
    applicationId: 'app-1',
    cardNumber: card.cardNumber,
    holderName: 'NGUYEN THI HOA',
    subjectSerial: '4821390057716624',
    email: 'new@example.org',
    keys,
    actor: { type: 'holder' as const, id: 'app-1' },
  };

  test('passes the holder’s own request', async () => {
    await expect(checkReissueRequest(request, repo)).resolves.toBeUndefined();
  });

  test.each([
    ['another application', { applicationId: 'app-2', actor: { type: 'holder' as const, id: 'app-2' } }],
    ['another actor', { actor: { type: 'officer' as const, id: 'o-1', stationId: 'TPE01' } }],
    ['other keys', { keys: cardKeys('EC-P256', 'EC-P384') }],
    ['another name', { holderName: 'SOMEONE ELSE' }],
    ['another subject serial', { subjectSerial: '0000000000000001' }],
    ['an unknown card', { cardNumber: 'AC00000000000009' }],
  ])('refuses %s', async (_what, change) => {
    await expect(
      checkReissueRequest({ ...request, ...change } as typeof request, repo),
    ).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('calls between functions', () => {
  const lambda = mockClient(LambdaClient);
  afterEach(() => lambda.reset());
  // The SDK hands payloads back as a blob adapter; a plain Uint8Array is what the code reads.
  const payload = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)) as never;

  test('answer() carries the error taxonomy across; invoke() rebuilds it', async () => {
    expect(await answer(async () => 42)).toEqual({ ok: true, value: 42 });
    const refused = await answer(async () => {
      throw new ConflictError('busy');
    });
    expect(refused).toEqual({ ok: false, error: { name: 'ConflictError', message: 'busy' } });
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(refused) });
    await expect(invoke('arn:fn', {})).rejects.toBeInstanceOf(ConflictError);
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payload({ ok: false, error: { name: 'NotFoundError', message: 'x' } }),
    });
    await expect(invoke('arn:fn', {})).rejects.toBeInstanceOf(NotFoundError);
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payload({ ok: false, error: { name: 'ForbiddenError', message: 'x' } }),
    });
    await expect(invoke('arn:fn', {})).rejects.toBeInstanceOf(InternalError);
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ ok: true, value: { n: 1 } }) });
    expect(await invoke('arn:fn', {})).toEqual({ n: 1 });
  });

  test('a crashed or unreachable function is a retryable dependency failure', async () => {
    await expect(answer(async () => Promise.reject(new Error('bug')))).rejects.toThrow('bug');
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: payload({ errorMessage: 'x' }) });
    await expect(invoke('arn:fn', {})).rejects.toBeInstanceOf(DependencyError);
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'TooManyRequestsException' }));
    await expect(invoke('arn:fn', {})).rejects.toBeInstanceOf(DependencyError);
  });

  describe("the station's form renderer on AWS (the documents function)", () => {
    const FORM: ApplicationFormInput = {
      applicationId: 'app_01JD8Z4Q0000000000000000',
      stationId: 'TPE01',
      officerId: 'officer-7',
      applicationDate: '2026-11-23',
      name: 'CHEN, Da-Wen',
      arcMasked: '******5678',
      subscriberCode: 'K7m2Qx9P',
      fee: { currency: 'TWD', items: [{ code: 'card', label: 'IC card', amount: 250 }], total: 250 },
      paymentDeadline: '2026-12-08T15:59:59.000Z',
      portalUrl: 'https://portal.example.org',
    };
    const ARN = 'arn:aws:lambda:ap-northeast-1:123456789012:function:acdc-documents';

    test('sends the form and the clock time the documents function accepts, and decodes the PDF', async () => {
      const sent: { FunctionName?: string; Payload?: Uint8Array }[] = [];
      lambda.on(InvokeCommand).callsFake((input: { FunctionName?: string; Payload?: Uint8Array }) => {
        sent.push(input);
        return {
          StatusCode: 200,
          Payload: payload({
            ok: true,
            value: { pdfBase64: Buffer.from('%PDF-1.7 form').toString('base64') },
          }),
        };
      });
      const createdAt = new Date('2026-11-23T05:00:00.000Z');
      const pdf = await remoteFormRenderer(() => ARN)(FORM, { createdAt });
      expect(Buffer.from(pdf).toString('latin1')).toBe('%PDF-1.7 form');
      expect(sent).toHaveLength(1);
      expect(sent[0]!.FunctionName).toBe(ARN);
      const request = JSON.parse(new TextDecoder().decode(sent[0]!.Payload));
      expect(request).toEqual({
        op: 'renderApplicationForm',
        form: FORM,
        createdAt: createdAt.toISOString(),
      });
      // The documents function reads back exactly what the station sent.
      expect(parseRenderFormRequest(request)).toEqual({ form: FORM, createdAt });
    });

    test("the documents function's refusal reaches the station as the same error", async () => {
      const refused = await documentsHandler({ op: 'renderApplicationForm', form: { ...FORM, name: '' } });
      expect(refused).toEqual({
        ok: false,
        error: { name: 'ValidationError', message: 'form.name: must be a non-empty string' },
      });
      lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(refused) });
      await expect(remoteFormRenderer(() => ARN)(FORM, { createdAt: new Date() })).rejects.toBeInstanceOf(
        ValidationError,
      );
      lambda
        .on(InvokeCommand)
        .resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: payload({ errorMessage: 'x' }) });
      await expect(remoteFormRenderer(() => ARN)(FORM, { createdAt: new Date() })).rejects.toBeInstanceOf(
        DependencyError,
      );
    });
  });
});

describe('the origin header check in front of every API function', () => {
  const logger = createLogger('test');
  const event = (headers: Record<string, string>) =>
    ({
      routeKey: 'GET /health',
      headers,
      requestContext: { requestId: 'r-1' },
    }) as unknown as APIGatewayProxyEventV2;
  const context = { awsRequestId: 'req-1' } as Context;

  test('refuses requests without the CloudFront header, before the handler runs', async () => {
    let calls = 0;
    const handler = withEdgeChecks(
      async () => {
        calls++;
        return { statusCode: 200, body: 'ok' };
      },
      'the-secret',
      logger,
    );
    const refused = await handler(event({}), context);
    expect(refused.statusCode).toBe(403);
    expect(JSON.parse(refused.body!)).toMatchObject({ error: { code: 'forbidden' } });
    expect((await handler(event({ [ORIGIN_VERIFY_HEADER]: 'wrong' }), context)).statusCode).toBe(403);
    expect(calls).toBe(0);
    expect((await handler(event({ 'X-Origin-Verify': 'the-secret' }), context)).statusCode).toBe(200);
    expect(calls).toBe(1);
  });

  test('without a configured secret (no CloudFront in front) every request passes', async () => {
    const handler = withEdgeChecks(async () => ({ statusCode: 204 }), undefined, logger);
    expect((await handler(event({}), context)).statusCode).toBe(204);
  });
});

test('a lazy handler builds once, and tries again after a failed build', async () => {
  let builds = 0;
  const handler = lazyHandler(async () => {
    builds++;
    if (builds === 1) throw new Error('cold start failed');
    return async (e: number) => e * 2;
  });
  await expect(handler(1, {})).rejects.toThrow('cold start failed');
  expect(await handler(2, {})).toBe(4);
  expect(await handler(3, {})).toBe(6);
  expect(builds).toBe(2);
});

test('KMS metrics: one request with its latency, and every throttled attempt (also those retried)', async () => {
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'AcdcTest';
  process.env.POWERTOOLS_SERVICE_NAME = 'portal';
  let attempts = 0;
  const client = instrumentKmsClient(
    new KMSClient({
      region: 'ap-east-2',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 3,
      requestHandler: {
        handle: async () => {
          attempts++;
          const throttled = attempts < 3;
          const body = throttled
            ? { __type: 'ThrottlingException', message: 'Rate exceeded' }
            : { Mac: Buffer.alloc(32, 1).toString('base64'), KeyId: 'k', MacAlgorithm: 'HMAC_SHA_256' };
          return {
            response: new HttpResponse({
              statusCode: throttled ? 400 : 200,
              headers: {
                'content-type': 'application/x-amz-json-1.1',
                ...(throttled ? { 'x-amzn-errortype': 'ThrottlingException' } : {}),
              },
              body: Readable.from([Buffer.from(JSON.stringify(body))]),
            }),
          };
        },
      } as never,
    }),
  );
  const out = await client.send(
    new GenerateMacCommand({ KeyId: 'k', Message: new Uint8Array(1), MacAlgorithm: 'HMAC_SHA_256' }),
  );
  expect(out.Mac?.length).toBe(32);
  expect(attempts).toBe(3);
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    flushMetrics();
  } finally {
    process.stdout.write = write;
  }
  const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => '_aws' in l)!;
  // EMF keeps repeated values of one metric as an array; CloudWatch sums them.
  const total = (v: unknown) => (Array.isArray(v) ? v.reduce((a: number, b: number) => a + b, 0) : v);
  expect(total(emf[METRIC.kmsRequests])).toBe(1);
  expect(total(emf[METRIC.kmsThrottled])).toBe(2);
  expect(typeof emf[METRIC.kmsLatency]).toBe('number');
  expect(emf.service).toBe('portal');
}, 30_000);
