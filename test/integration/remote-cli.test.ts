// The CLI with --endpoint: bin/internvl-lens in a child process (the built bundle, which loads the
// OpenAI client from dist/openai.js) asks a real HTTP server on 127.0.0.1 that streams as vLLM
// does, with the API key from the environment.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { OpenAICompatibleServer } from '../fixtures/openai-server';
import { encodePng, solidImage } from '../fixtures/png';
import { SCRIPTS } from '../fixtures/scripts';
import { ROOT } from './support';

const scratch = mkdtempSync(join(tmpdir(), 'lens-remote-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const screenshot = join(scratch, 'screen.png');
writeFileSync(screenshot, encodePng(800, 600, solidImage(800, 600, [230, 230, 230, 255])));

const KEY = 'sk-cli-5f0e1d2c3b4a';

async function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'internvl-lens'), ...args], {
      env: { ...process.env, INTERNVL_LENS_MODEL: '', INTERNVL_LENS_MMPROJ: '', INTERNVL_LENS_API_KEY: '', OPENAI_API_KEY: 'sk-unrelated-openai-key', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('internvl-lens CLI with --endpoint', () => {
  it('ground asks the server and prints the regions in original pixels, as the local CLI does', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'vllm', models: ['OpenGVLab/InternVL3-14B'], apiKey: KEY });
    try {
      server.replies.push({ kind: 'answer', text: SCRIPTS.grounding.text, promptTokens: 3400 });
      const r = await cli({ INTERNVL_LENS_API_KEY: KEY }, 'ground', screenshot, 'the Save button', '--endpoint', server.url, '--remote-model', 'OpenGVLab/InternVL3-14B', '--max-tiles', '6', '--verbose');
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { question: string; regions: unknown[]; stats: { contextTokens: number; kvReused: unknown; imageEncodeMs: unknown } };
      assert.match(out.question, /<ref>the Save button<\/ref>/);
      // The same regions the local CLI test expects from the tiny grounding model.
      assert.deepEqual(out.regions, [
        { kind: 'box', label: 'Save button', box: [80, 120, 240, 240], normalized: [0.1, 0.2, 0.3, 0.4] },
        { kind: 'box', label: 'icons', box: [400, 60, 520, 150], normalized: [0.5, 0.1, 0.65, 0.25] },
        { kind: 'box', label: 'icons', box: [560, 360, 720, 570], normalized: [0.7, 0.6, 0.9, 0.95] },
      ]);
      assert.equal(out.stats.contextTokens, 3400);
      assert.equal(out.stats.kvReused, null);
      assert.equal(out.stats.imageEncodeMs, null);
      const request = server.chatRequests[0]!;
      assert.equal(request.headers.authorization, `Bearer ${KEY}`, 'the key from INTERNVL_LENS_API_KEY, not OPENAI_API_KEY');
      assert.deepEqual((request.body as { mm_processor_kwargs: unknown }).mm_processor_kwargs, { max_dynamic_patch: 6 });
      assert.match(r.stderr, /using OpenGVLab\/InternVL3-14B at http:\/\/127\.0\.0\.1:\d+\/v1 \(with an API key\)/);
      assert.ok(!r.stderr.includes(KEY) && !r.stdout.includes(KEY), 'the key is never printed');
    } finally {
      await server.close();
    }
  });

  it('a missing key is a JSON error that says how to give one; the unrelated OPENAI_API_KEY is not sent', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'lmdeploy', apiKey: KEY });
    try {
      const r = await cli({}, 'ask', screenshot, 'What is this?', '--endpoint', server.url.replace('/v1', ''));
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const err = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string } };
      assert.equal(err.error.code, 'remote-unauthorized');
      assert.match(err.error.message, /401: Please request with valid api key!.*needs an API key/);
      assert.deepEqual(server.requests.map((q) => q.path), ['/v1/models'], 'endpoint without /v1 is completed');
      assert.equal(server.requests[0]!.headers.authorization, undefined);
    } finally {
      await server.close();
    }
  });

  it('a key sent over plain http:// to another machine: one warning line on stderr that names the setting', async () => {
    // This machine's own name, served on the address it resolves to: a name counts as another machine.
    const name = hostname();
    const server = await OpenAICompatibleServer.start({ flavour: 'vllm', models: ['OpenGVLab/InternVL3-14B'], apiKey: KEY, host: (await lookup(name)).address });
    try {
      const r = await cli({ INTERNVL_LENS_API_KEY: KEY }, 'ask', screenshot, 'What is this?', '--endpoint', `http://${name}:${server.port}/v1`);
      assert.equal(r.code, 0, r.stderr);
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('[warn]'));
      assert.equal(warnings.length, 1, r.stderr);
      assert.match(warnings[0]!, /The API key is sent unencrypted to .*\(http:\/\/\).*Use an https:\/\/ URL in internvlLens\.remote\.endpoint/);
      assert.ok(!r.stderr.includes(KEY));
      const quiet = await cli({ INTERNVL_LENS_API_KEY: KEY }, 'ask', screenshot, 'What is this?', '--endpoint', `http://localhost:${server.port}/v1`);
      assert.doesNotMatch(quiet.stderr, /unencrypted/);
    } finally {
      await server.close();
    }
  });

  it('the OpenAI client ships in dist/openai.js, loaded on demand: the host and CLI bundles do not carry it', () => {
    const marker = 'https://api.openai.com/v1';
    assert.ok(readFileSync(join(ROOT, 'dist', 'openai.js'), 'utf8').includes(marker));
    for (const bundle of ['extension.js', 'cli.js']) {
      const text = readFileSync(join(ROOT, 'dist', bundle), 'utf8');
      assert.ok(!text.includes(marker), `${bundle} bundles the OpenAI client`);
      assert.match(text, /import\("\.\/openai\.js"\)/, `${bundle} loads it from ./openai.js`);
    }
  });

  it('--remote-model without --endpoint is a usage error', async () => {
    const r = await cli({}, 'ask', screenshot, 'hi', '--remote-model', 'x');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--remote-model needs --endpoint/);
  });
});
