import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';

/** SHA-256 / HMAC-SHA-256 for SigV4 (the checksum constructor the signer expects), on node:crypto. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData) =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);

class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    // one use per instance
  }
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * The SDK's default logger discards everything but has an `info` method, and the SDK's logger middleware
 * builds a redacted copy of every request and response for it whenever `info` exists (~5 % of a read's
 * CPU). A logger without `info` discards the same and skips that work.
 */
const SDK_LOGGER = {
  trace: () => {},
  debug: () => {},
  warn: () => {},
  error: () => {},
} as unknown as DynamoDBClientConfig['logger'];

/** The client options both factories share (createDocumentClient in ./local.ts). */
export const dynamoClientConfig = (
  endpoint: string | undefined,
  region: string,
  requestHandler?: DynamoDBClientConfig['requestHandler'],
) => {
  // The SDK warns about Node 20 at every client creation; the runtime is chosen on purpose.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return {
    region,
    logger: SDK_LOGGER,
    ...(endpoint
      ? {
          endpoint,
          ...(requestHandler ? { requestHandler } : {}),
          credentials: LOCAL_CREDENTIALS,
          // One signer for all requests: the SDK's default builds a new one — and derives its signing key
          // again — for every request, a fifth of a local read's CPU.
          signer: new SignatureV4({
            credentials: LOCAL_CREDENTIALS,
            region,
            service: 'dynamodb',
            sha256: NodeSha256,
          }),
        }
      : {}),
  };
};

/**
 * The repository's DynamoDB client. With an endpoint (dynalite, local mode): dummy credentials and one
 * SigV4 signer; without one: the real service with the default credential chain (Lambda's role).
 * `cacheMiddleware`: the SDK resolves each command type's middleware stack once instead of on every send
 * (a quarter of a read's CPU). Safe for the low-level commands the repository sends; NOT for
 * @aws-sdk/lib-dynamodb's commands, which capture the first command of a type — never wrap this client
 * in a document client.
 */
export const createDynamoClient = (
  endpoint?: string,
  region = 'ap-east-2',
  requestHandler?: DynamoDBClientConfig['requestHandler'],
): DynamoDBClient =>
  new DynamoDBClient({ ...dynamoClientConfig(endpoint, region, requestHandler), cacheMiddleware: true });
