// The configurations Set Up MCP Server… writes or copies (src/mcp/clientConfig.ts): the flags are
// the CLI's own (parsed here with its option table), .vscode/mcp.json is merged, never clobbered, and
// the Claude Code command line survives a real shell word for word.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import { ENGINE_FLAGS } from '../../src/cli/engineFlags';
import { claudeCodeCommand, McpConfigMergeError, mcpLaunch, mcpServersJson, vscodeMcpJson, type McpEngineSettings } from '../../src/mcp/clientConfig';

const local: McpEngineSettings = {
  engine: 'local',
  modelPath: "/home/ann/My Models/InternVL3-2B-Q4_K_M.gguf",
  mmprojPath: "/home/ann/My Models/mmproj-InternVL3-2B-F16.gguf",
  contextSize: 16384,
  gpuLayers: -1,
  threads: 0,
  maxTokens: 1024,
  maxTiles: 6,
  llamaServerPath: '',
  remoteEndpoint: 'http://ignored:1/v1',
  remoteModel: '',
  remoteTimeoutSeconds: 120,
};
const runtime = { command: 'node', env: {}, cliPath: "/home/ann/.vscode/extensions/internvl-lens-0.1.0/dist/cli.js" };

describe('MCP client configurations', () => {
  it('start the bundled CLI with the settings as the CLI\'s own flags (defaults left off)', () => {
    const launch = mcpLaunch(local, runtime);
    assert.equal(launch.command, 'node');
    assert.deepEqual(launch.args.slice(0, 2), [runtime.cliPath, 'mcp']);
    const { values, positionals } = parseArgs({ args: launch.args.slice(2), options: ENGINE_FLAGS, allowPositionals: true });
    assert.deepEqual(positionals, []);
    assert.deepEqual({ ...values }, { model: local.modelPath, mmproj: local.mmprojPath, context: '16384', 'max-tiles': '6', verbose: false });
    const remote = mcpLaunch({ ...local, engine: 'remote', remoteModel: 'OpenGVLab/InternVL3-14B' }, runtime);
    const r = parseArgs({ args: remote.args.slice(2), options: ENGINE_FLAGS });
    assert.deepEqual({ ...r.values }, { endpoint: 'http://ignored:1/v1', 'remote-model': 'OpenGVLab/InternVL3-14B', 'max-tiles': '6', verbose: false });
    assert.equal(remote.needsApiKey, true);
  });

  it('.vscode/mcp.json: added to an existing file, other servers and inputs kept, our entry replaced', () => {
    const launch = mcpLaunch(local, runtime);
    const existing = JSON.stringify({ servers: { github: { type: 'http', url: 'https://api.example/mcp' }, 'internvl-lens': { type: 'stdio', command: 'old' } }, inputs: [{ type: 'promptString', id: 'token' }] });
    const merged = JSON.parse(vscodeMcpJson(existing, launch)) as { servers: Record<string, unknown>; inputs: unknown[] };
    assert.deepEqual(merged.servers.github, { type: 'http', url: 'https://api.example/mcp' });
    assert.deepEqual(merged.servers['internvl-lens'], { type: 'stdio', command: 'node', args: launch.args });
    assert.deepEqual(merged.inputs, [{ type: 'promptString', id: 'token' }]);
    assert.deepEqual(Object.keys(JSON.parse(vscodeMcpJson(null, launch)) as object), ['servers']);
  });

  it('.vscode/mcp.json with comments or a strange shape is never rewritten', () => {
    const launch = mcpLaunch(local, runtime);
    assert.throws(() => vscodeMcpJson('{\n  // mine\n  "servers": {}\n}', launch), McpConfigMergeError);
    assert.throws(() => vscodeMcpJson('{"servers": []}', launch), McpConfigMergeError);
    assert.throws(() => vscodeMcpJson('[1]', launch), McpConfigMergeError);
  });

  it('a remote engine asks VS Code for the API key (a password input), never writes it', () => {
    const launch = mcpLaunch({ ...local, engine: 'remote' }, runtime);
    const out = JSON.parse(vscodeMcpJson(null, launch)) as { servers: Record<string, { env: Record<string, string> }>; inputs: { id: string; password: boolean }[] };
    assert.equal(out.servers['internvl-lens']!.env.INTERNVL_LENS_API_KEY, '${input:internvl-lens-api-key}');
    assert.deepEqual(out.inputs.map((i) => [i.id, i.password]), [['internvl-lens-api-key', true]]);
  });

  it('Cline and Cursor: the mcpServers entry (VS Code\'s runtime as Node when there is no node)', () => {
    const electron = { command: '/opt/VS Code/code', env: { ELECTRON_RUN_AS_NODE: '1' }, cliPath: runtime.cliPath };
    const launch = mcpLaunch(local, electron);
    const cline = JSON.parse(mcpServersJson('cline', launch)) as { mcpServers: Record<string, unknown> };
    assert.deepEqual(cline.mcpServers['internvl-lens'], { command: '/opt/VS Code/code', args: launch.args, env: { ELECTRON_RUN_AS_NODE: '1' }, disabled: false });
    const cursor = JSON.parse(mcpServersJson('cursor', launch)) as { mcpServers: Record<string, unknown> };
    assert.deepEqual(cursor.mcpServers['internvl-lens'], { command: '/opt/VS Code/code', args: launch.args, env: { ELECTRON_RUN_AS_NODE: '1' } });
  });

  it('Claude Code: `claude mcp add` whose words a POSIX shell reads back exactly', { skip: process.platform === 'win32' }, () => {
    const launch = mcpLaunch({ ...local, modelPath: "/tmp/it's here/m.gguf" }, { command: 'node', env: { ELECTRON_RUN_AS_NODE: '1' }, cliPath: runtime.cliPath });
    const line = claudeCodeCommand(launch, 'linux');
    assert.match(line, /^claude mcp add --scope user -e ELECTRON_RUN_AS_NODE=1 internvl-lens -- node /);
    // printf prints each word the shell parsed on its own line, in place of `claude`.
    const words = execFileSync('sh', ['-c', `printf '%s\\n' ${line.slice('claude '.length)}`], { encoding: 'utf8' }).trimEnd().split('\n');
    assert.deepEqual(words, ['mcp', 'add', '--scope', 'user', '-e', 'ELECTRON_RUN_AS_NODE=1', 'internvl-lens', '--', 'node', ...launch.args]);
  });
});
