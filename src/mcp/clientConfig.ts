// How each agent is told to start `internvl-lens mcp`: VS Code's .vscode/mcp.json (merged with what
// is there), Claude Code's `claude mcp add` command line, Cline's and Cursor's mcpServers JSON. The
// engine flags come from the extension's settings (the same names the CLI reads: ../cli/engineFlags.ts).
// No vscode import: the command (src/commands/mcp.ts) and the unit tests share it.
import { REMOTE_API_KEY_ENV, type LensConfig } from '../config';
import { MCP_SERVER_NAME } from './serverName';

export const MCP_CLIENTS = ['vscode', 'claude-code', 'cline', 'cursor'] as const;
export type McpClient = (typeof MCP_CLIENTS)[number];

/** The settings the server's command line is made from (src/config.ts reads them). */
export type McpEngineSettings = Pick<
  LensConfig,
  'engine' | 'modelPath' | 'mmprojPath' | 'contextSize' | 'gpuLayers' | 'threads' | 'maxTokens' | 'maxTiles' | 'llamaServerPath' | 'remoteEndpoint' | 'remoteModel' | 'remoteTimeoutSeconds'
>;

/** How to run the bundled CLI: `node` (or VS Code's own runtime as Node) and dist/cli.js. */
export interface CliRuntime {
  command: string;
  /** Environment the command needs (ELECTRON_RUN_AS_NODE=1 for VS Code's runtime). */
  env: Record<string, string>;
  cliPath: string;
}

/** What starts the server: a command, its arguments and environment. */
export interface McpLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Whether the server needs the remote API key ($INTERNVL_LENS_API_KEY) from the environment. */
  needsApiKey: boolean;
}

/** Settings left at their defaults are left off the command line (the CLI has the same defaults). */
export function mcpLaunch(settings: McpEngineSettings, runtime: CliRuntime): McpLaunch {
  const args = [runtime.cliPath, 'mcp'];
  const add = (flag: string, value: string | number, fallback?: string | number) => {
    if (value !== fallback && value !== '') args.push(flag, String(value));
  };
  if (settings.engine === 'remote') {
    add('--endpoint', settings.remoteEndpoint);
    add('--remote-model', settings.remoteModel);
    add('--timeout', settings.remoteTimeoutSeconds, 120);
  } else {
    add('--model', settings.modelPath);
    add('--mmproj', settings.mmprojPath);
    add('--context', settings.contextSize, 8192);
    add('--gpu-layers', settings.gpuLayers, -1);
    add('--threads', settings.threads, 0);
    add('--llama-server', settings.llamaServerPath);
  }
  add('--max-tokens', settings.maxTokens, 1024);
  add('--max-tiles', settings.maxTiles, 12);
  return { command: runtime.command, args, env: { ...runtime.env }, needsApiKey: settings.engine === 'remote' };
}

const API_KEY_INPUT = `${MCP_SERVER_NAME}-api-key`;

/** Plain JSON of an object, or null when `text` is not one (comments, trailing commas, an array…). */
function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export class McpConfigMergeError extends Error {}

/**
 * .vscode/mcp.json with this server added (or replaced), every other server and input kept. `existing`
 * is the file's text, or null when there is none. A file that is not plain JSON (VS Code allows
 * comments there) is not rewritten: the error says so, and the caller offers the snippet instead.
 */
export function vscodeMcpJson(existing: string | null, launch: McpLaunch): string {
  const base = existing === null || existing.trim() === '' ? {} : parseObject(existing);
  if (base === null) throw new McpConfigMergeError('.vscode/mcp.json is not plain JSON (it has comments, trailing commas, or is not an object), so it is left as it is: add the server to it by hand.');
  const servers = base.servers ?? {};
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) throw new McpConfigMergeError('.vscode/mcp.json has a "servers" entry that is not an object, so it is left as it is: add the server to it by hand.');
  const env = { ...launch.env, ...(launch.needsApiKey ? { [REMOTE_API_KEY_ENV]: `\${input:${API_KEY_INPUT}}` } : {}) };
  const entry = { type: 'stdio', command: launch.command, args: launch.args, ...(Object.keys(env).length ? { env } : {}) };
  const result: Record<string, unknown> = { ...base, servers: { ...(servers as Record<string, unknown>), [MCP_SERVER_NAME]: entry } };
  if (launch.needsApiKey) {
    const inputs = Array.isArray(base.inputs) ? (base.inputs as { id?: unknown }[]) : [];
    result.inputs = [
      ...inputs.filter((i) => i?.id !== API_KEY_INPUT),
      { type: 'promptString', id: API_KEY_INPUT, description: 'API key of the InternVL server (sent as a bearer token)', password: true },
    ];
  }
  return `${JSON.stringify(result, null, 2)}\n`;
}

/** The `mcpServers` JSON Cline (cline_mcp_settings.json) and Cursor (~/.cursor/mcp.json) read. */
export function mcpServersJson(client: 'cline' | 'cursor', launch: McpLaunch): string {
  const env = { ...launch.env, ...(launch.needsApiKey ? { [REMOTE_API_KEY_ENV]: '<your API key>' } : {}) };
  const entry = { command: launch.command, args: launch.args, ...(Object.keys(env).length ? { env } : {}), ...(client === 'cline' ? { disabled: false } : {}) };
  return `${JSON.stringify({ mcpServers: { [MCP_SERVER_NAME]: entry } }, null, 2)}\n`;
}

/** A word as the shell reads it: POSIX single quotes, or Windows double quotes. */
export function shellQuote(word: string, platform: NodeJS.Platform = process.platform): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  if (platform === 'win32') return `"${word.replace(/"/g, '""')}"`;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `claude mcp add …`: registers the server for the user (every project). */
export function claudeCodeCommand(launch: McpLaunch, platform: NodeJS.Platform = process.platform): string {
  const env = Object.entries(launch.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  if (launch.needsApiKey) env.push('-e', `${REMOTE_API_KEY_ENV}=<your API key>`);
  const words = ['claude', 'mcp', 'add', '--scope', 'user', ...env, MCP_SERVER_NAME, '--', launch.command, ...launch.args];
  return words.map((w) => shellQuote(w, platform)).join(' ');
}

/** What the Set Up MCP Server command offers for a client: the text, and where it goes. */
export function clientConfig(client: McpClient, launch: McpLaunch, existingVscodeJson: string | null = null): string {
  switch (client) {
    case 'vscode':
      return vscodeMcpJson(existingVscodeJson, launch);
    case 'claude-code':
      return claudeCodeCommand(launch);
    case 'cline':
    case 'cursor':
      return mcpServersJson(client, launch);
  }
}
