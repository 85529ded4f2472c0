// The remote server's address as the user typed it → the base URL the OpenAI client needs.
import { Settings } from '../../config';
import { EngineError } from '../errors';

export interface Endpoint {
  /** Base URL ending in the API root, e.g. `http://gpu-box:23333/v1` (no trailing slash). */
  baseURL: string;
  /** What the status bar names: the host without port or scheme. */
  hostname: string;
  /** Host and port, for messages. */
  host: string;
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
  return { baseURL: `${url.origin}${path}${url.search}`, hostname: url.hostname.replace(/^\[|\]$/g, ''), host: url.host };
}
