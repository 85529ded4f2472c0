// The remote engine's pure parts: reading the endpoint setting, Retry-After, and the words a user
// gets for failures whose real cause cannot be produced on 127.0.0.1 (DNS, routing).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { EngineError } from '../../src/engine/errors';
import { keyInClearWarning, parseEndpoint, staysOnThisMachine } from '../../src/engine/remote/endpoint';
import { describeFailure, isRetryable, retryAfterMs, type FailureContext } from '../../src/engine/remote/failures';

describe('parseEndpoint', () => {
  it('completes the API root and keeps host, port and proxy paths', () => {
    assert.deepEqual(parseEndpoint('http://gpu-box:23333'), { baseURL: 'http://gpu-box:23333/v1', hostname: 'gpu-box', host: 'gpu-box:23333', plainHttp: true });
    assert.equal(parseEndpoint('http://gpu-box:23333/v1/').baseURL, 'http://gpu-box:23333/v1');
    assert.equal(parseEndpoint('gpu-box:8000').baseURL, 'http://gpu-box:8000/v1');
    assert.equal(parseEndpoint('https://llm.example.com/internvl/v1').baseURL, 'https://llm.example.com/internvl/v1');
    assert.equal(parseEndpoint('http://127.0.0.1:8080/v1/chat/completions').baseURL, 'http://127.0.0.1:8080/v1');
    assert.equal(parseEndpoint('http://[::1]:8080').hostname, '::1');
  });

  it('refuses what is not a server URL, naming the setting', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /No server is set/],
      ['   ', /No server is set/],
      ['ftp://box/v1', /must start with http:\/\/ or https:\/\//],
      ['http://user:secret@box/v1', /must not contain a user name or password.*Set API Key/],
      ['http://exa mple.com', /is not a URL/],
    ];
    for (const [raw, message] of cases) {
      assert.throws(() => parseEndpoint(raw), (err: unknown) => err instanceof EngineError && err.code === 'remote-not-configured' && err.setting === 'internvlLens.remote.endpoint' && message.test(err.message), raw);
    }
  });
});

describe('an API key sent in clear', () => {
  it('knows which hosts never leave this machine, as URL parsing leaves them, without looking names up', () => {
    const here = [
      'localhost', 'LOCALHOST', 'localhost.', 'api.localhost', '127.0.0.1', '127.1', '127.255.255.254', '0x7f.1', '2130706433', '0.0.0.0', '0',
      '[::1]', '[0:0:0:0:0:0:0:1]', '[::]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[0:0:0:0:0:ffff:127.1.2.3]',
    ];
    const elsewhere = [
      'gpu-box', 'gpu-box.local', 'localhost.example.com', 'mylocalhost', 'localhost-gpu', '10.0.0.5', '192.168.1.20', '128.0.0.1', '126.255.255.255', '1.127.0.0',
      '8.8.8.8', '[::2]', '[fe80::1]', '[fd00::2]', '[::ffff:10.0.0.1]', '[::ffff:a00:1]', '[2001:db8::1]', 'lоcalhost' /* Cyrillic о */, '127.0.0.1.nip.io',
    ];
    for (const host of here) assert.equal(staysOnThisMachine(parseEndpoint(`http://${host}:8000`).hostname), true, host);
    for (const host of elsewhere) assert.equal(staysOnThisMachine(parseEndpoint(`http://${host}:8000`).hostname), false, host);
  });

  it('warns for plain http:// to another machine only, naming the setting to change', () => {
    const warning = keyInClearWarning(parseEndpoint('http://gpu-box:23333/v1'));
    assert.match(warning ?? '', /The API key is sent unencrypted to gpu-box:23333 \(http:\/\/\).*Use an https:\/\/ URL in internvlLens\.remote\.endpoint/);
    assert.equal(keyInClearWarning(parseEndpoint('gpu-box:8000')) !== null, true, 'no scheme is http://');
    for (const safe of ['https://gpu-box:23333/v1', 'http://localhost:8080/v1', 'http://127.0.0.1:8080', 'http://[::1]:8080', 'HTTPS://10.0.0.5']) {
      assert.equal(keyInClearWarning(parseEndpoint(safe)), null, safe);
    }
  });
});

function statusError(status: number, headers: Record<string, string> = {}, error?: unknown): unknown {
  return Object.assign(new Error(`${status}`), { status, headers: new Headers(headers), error });
}

describe('retries', () => {
  it('reads Retry-After in seconds, as a date, and retry-after-ms', () => {
    assert.equal(retryAfterMs(statusError(429, { 'retry-after': '2' })), 2000);
    assert.equal(retryAfterMs(statusError(429, { 'retry-after-ms': '250' })), 250);
    const now = Date.parse('2026-11-26T12:00:00Z');
    assert.equal(retryAfterMs(statusError(503, { 'retry-after': 'Thu, 26 Nov 2026 12:00:05 GMT' }), now), 5000);
    assert.equal(retryAfterMs(statusError(503)), null);
    assert.equal(retryAfterMs(new Error('x')), null);
  });

  it('retries busy and failing servers, not bad requests or a model without vision', () => {
    for (const s of [408, 429, 500, 502, 503, 504]) assert.equal(isRetryable(statusError(s)), true, String(s));
    for (const s of [400, 401, 403, 404, 422, 501]) assert.equal(isRetryable(statusError(s)), false, String(s));
    assert.equal(isRetryable(statusError(500, {}, { message: 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj' })), false);
    assert.equal(isRetryable(new Error('fetch failed')), false);
  });
});

describe('describeFailure', () => {
  const ctx: FailureContext = { endpoint: parseEndpoint('http://gpu-box:23333/v1'), model: 'InternVL3-14B', hasApiKey: false, timeoutSeconds: 120 };
  const fetchFailed = (code: string, message: string) => Object.assign(new Error('Connection error.'), { cause: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(message), { code }) }) });

  it('names an unknown host and an unreachable network', () => {
    const dns = describeFailure(fetchFailed('ENOTFOUND', 'getaddrinfo ENOTFOUND gpu-box'), ctx);
    assert.equal(dns.code, 'remote-unreachable');
    assert.match(dns.message, /The host gpu-box cannot be found \(unknown host\)/);
    assert.match(describeFailure(fetchFailed('EAI_AGAIN', 'getaddrinfo EAI_AGAIN gpu-box'), ctx).message, /DNS lookup timed out/);
    assert.match(describeFailure(fetchFailed('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.9:23333'), ctx).message, /cannot be reached from this machine.*VPN/);
    const many = Object.assign(new Error('Connection error.'), { cause: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })]), {}) }) });
    assert.match(describeFailure(many, ctx).message, /connection refused/);
  });

  it('an expired certificate and a timeout say which knob to turn', () => {
    const tls = describeFailure(fetchFailed('CERT_HAS_EXPIRED', 'certificate has expired'), ctx);
    assert.equal(tls.code, 'remote-tls');
    assert.match(tls.message, /\(CERT_HAS_EXPIRED: certificate has expired\).*NODE_EXTRA_CA_CERTS/);
    const timeout = describeFailure(Object.assign(new Error('Request timed out.'), { name: 'APIConnectionTimeoutError' }), ctx);
    assert.equal(timeout.code, 'remote-timeout');
    assert.equal(timeout.setting, 'internvlLens.remote.requestTimeoutSeconds');
  });

  it('a 404 without a model in its words points at the endpoint path', () => {
    const err = describeFailure(statusError(404, {}, { message: 'Not Found' }), ctx);
    assert.equal(err.code, 'remote-not-configured');
    assert.match(err.message, /http:\/\/gpu-box:23333\/v1 has no OpenAI-compatible API \(404: Not Found\).*usually ends in \/v1/);
  });

  it('a refused key with a stored key asks for the right one', () => {
    const err = describeFailure(statusError(401, {}, { message: 'Invalid API Key' }), { ...ctx, hasApiKey: true });
    assert.equal(err.code, 'remote-unauthorized');
    assert.match(err.message, /refused the request \(401: Invalid API Key\)\. The API key stored for it was refused/);
  });
});
