// The remote server's address as the user typed it → the base URL the OpenAI client needs, and
// whether an API key sent there can be read on the way.
import { BlockList, isIP } from 'node:net';
import { Settings } from '../../config';
import { EngineError } from '../errors';

export interface Endpoint {
  /** Base URL ending in the API root, e.g. `http://gpu-box:23333/v1` (no trailing slash). */
  baseURL: string;
  /** What the status bar names: the host without port or scheme. */
  hostname: string;
  /** Host and port, for messages. */
  host: string;
  /** Plain http://: what is sent (an API key included) can be read on the network. */
  plainHttp: boolean;
}

/**
 * Accepts `http(s)://host[:port]` with or without the `/v1` API root (LMDeploy, vLLM,
 * llama-server and Ollama all serve it there); any other path is kept as given (proxies).
 */
export function parseEndpoint(raw: string): Endpoint {
  const text = raw.trim();
  if (!text) {
    throw new EngineError('remote-not-configured', `No server is set: enter its URL (for example http://gpu-box:23333/v1) in ${Settings.remoteEndpoint}, or set ${Settings.engine} to local.`, Settings.remoteEndpoint);
  }
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new EngineError('remote-not-configured', `${Settings.remoteEndpoint} is not a URL: "${text}". Use the form http://host:port/v1.`, Settings.remoteEndpoint);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EngineError('remote-not-configured', `${Settings.remoteEndpoint} must start with http:// or https://, not ${url.protocol}//.`, Settings.remoteEndpoint);
  }
  if (url.username || url.password) {
    // Credentials in a URL end up in logs and settings sync: the key belongs in SecretStorage.
    throw new EngineError('remote-not-configured', `${Settings.remoteEndpoint} must not contain a user name or password: use the command "InternVL Lens: Set API Key" instead.`, Settings.remoteEndpoint);
  }
  let path = url.pathname.replace(/\/+$/, '');
  if (path === '') path = '/v1';
  // A URL copied from the server's docs sometimes names the endpoint itself.
  path = path.replace(/\/chat\/completions$/, '');
  return { baseURL: `${url.origin}${path}${url.search}`, hostname: url.hostname.replace(/^\[|\]$/g, ''), host: url.host, plainHttp: url.protocol === 'http:' };
}

/** Loopback addresses (IPv4-mapped IPv6 ones included), and the unspecified ones, which connect to this machine too. */
const THIS_MACHINE = new BlockList();
THIS_MACHINE.addSubnet('127.0.0.0', 8, 'ipv4');
THIS_MACHINE.addAddress('0.0.0.0', 'ipv4');
THIS_MACHINE.addAddress('::1', 'ipv6');
THIS_MACHINE.addAddress('::', 'ipv6');

/**
 * Whether a connection to `hostname` (as URL parsing leaves it, brackets removed) never leaves this
 * machine: a loopback or unspecified address, or a name under `localhost` (RFC 6761). Any other
 * name may resolve anywhere, so it counts as another machine (it is not looked up).
 */
export function staysOnThisMachine(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && THIS_MACHINE.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why an API key should not go to `endpoint` as it is configured, or null when it is safe to send. */
export function keyInClearWarning(endpoint: Endpoint): string | null {
  if (!endpoint.plainHttp || staysOnThisMachine(endpoint.hostname)) return null;
  return `The API key is sent unencrypted to ${endpoint.host} (http://): anyone on the network in between can read it. Use an https:// URL in ${Settings.remoteEndpoint} (or reach the server through an SSH tunnel to localhost).`;
}
