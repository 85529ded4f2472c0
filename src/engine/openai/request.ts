// The chat-completions request both engines send: the turns with their images as `data:` URLs
// (already on InternVL's reference grid, prepared by images/), plus the options LMDeploy and vLLM
// understand for InternVL and the ones llama-server understands (prompt cache).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { imageTokenCount, loadSharp, probeImage, referenceGrid } from '../../images';
import { IMAGE_FORMAT_INFO } from '../../images/formats';
import type { ChatOptions, ChatTurn } from '../engine';
import { EngineError } from '../errors';
import { errorMessage } from '../../util/errorMessage';

export interface ImagePart {
  type: 'image_url';
  /** `max_dynamic_patch` here is LMDeploy's per-image tile limit for InternVL. */
  image_url: { url: string; max_dynamic_patch: number };
}
export interface TextPart {
  type: 'text';
  text: string;
}
export interface RequestMessage {
  role: 'user' | 'assistant';
  content: string | Array<ImagePart | TextPart>;
}

/** The body of POST /chat/completions, with the server-specific fields the OpenAI types lack. */
export interface RemoteChatRequest {
  model: string;
  messages: RequestMessage[];
  max_tokens: number;
  temperature: number;
  stream: true;
  stream_options: { include_usage: true };
  /** LMDeploy and vLLM: keep `<ref>`/`<box>` (special tokens) in the text. llama-server ignores it. */
  skip_special_tokens: false;
  /** vLLM: the InternVL processor's tile limit. */
  mm_processor_kwargs: { max_dynamic_patch: number };
  /** llama-server: reuse the KV cache of the longest matching prefix (images included). */
  cache_prompt: true;
}

export interface RequestOptions {
  /**
   * Recompress large PNGs before sending (over a network the same pixels go several times
   * smaller); the local server reads them over loopback, where recompressing only costs time.
   */
  recompress: boolean;
  /**
   * Where the `Image-1:` labels of a turn with several images go: `text` (one text part after the
   * images: LMDeploy reads only the first text part) or `parts` (each label just before its image,
   * as llama-server places each image at its part).
   */
  labels: 'text' | 'parts';
}

export const REMOTE_REQUEST: RequestOptions = { recompress: true, labels: 'text' };
export const LLAMA_SERVER_REQUEST: RequestOptions = { recompress: false, labels: 'parts' };

export interface PreparedRequest {
  body: RemoteChatRequest;
  /** Context tokens the images take on InternVL's reference grid (the server's own count is not reported). */
  imageTokens: number;
  imageCount: number;
}

/** PNGs above this size are recompressed (losslessly) before upload. */
const UPLOAD_RECOMPRESS_BYTES = 512 * 1024;

/** Reads an image file (already sized to the grid) as a `data:` URL, with the tokens its grid costs. */
async function imagePart(path: string, maxTiles: number, recompress: boolean): Promise<{ part: ImagePart; tokens: number }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new EngineError('bad-request', `The image ${basename(path)} cannot be read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}).`);
  }
  const info = probeImage(bytes.subarray(0, 64 * 1024), basename(path));
  // Model-sized copies are stored uncompressed (llama.cpp re-reads them every turn); over the
  // network the same pixels go losslessly compressed, several times smaller.
  if (recompress && info.format === 'png' && bytes.length > UPLOAD_RECOMPRESS_BYTES) {
    const sharp = await loadSharp();
    const smaller = await sharp(bytes).png({ compressionLevel: 6 }).toBuffer();
    if (smaller.length < bytes.length) bytes = smaller;
  }
  const tokens = imageTokenCount(referenceGrid(info.width, info.height, 1, maxTiles));
  return { part: { type: 'image_url', image_url: { url: `data:${IMAGE_FORMAT_INFO[info.format].mime};base64,${bytes.toString('base64')}`, max_dynamic_patch: maxTiles } }, tokens };
}

/**
 * One text part after the images: LMDeploy's InternVL template reads only the first text part.
 * Several images in one turn are numbered as InternVL's model card does (`Image-1: <image>`),
 * so the question can refer to them; vLLM places each image at its `<image>`.
 */
function userText(text: string, imageCount: number, frames: boolean): string {
  if (imageCount < 2 && !frames) return text;
  let prefix = '';
  for (let i = 1; i <= imageCount; i++) prefix += `${imageLabel(i, frames)}<image>\n`;
  return prefix + text;
}

/** `Image-2: ` for one of several images, `Frame2: ` for a clip's frame (InternVL's video prompt). */
function imageLabel(n: number, frames: boolean): string {
  return frames ? `Frame${n}: ` : `Image-${n}: `;
}

export async function buildRequest(turns: ChatTurn[], model: string, options: ChatOptions, maxTiles: number, how: RequestOptions = REMOTE_REQUEST): Promise<PreparedRequest> {
  const messages: RequestMessage[] = [];
  let imageTokens = 0;
  let imageCount = 0;
  for (const turn of turns) {
    if (turn.images.length === 0 || turn.role === 'assistant') {
      messages.push({ role: turn.role, content: turn.text });
      continue;
    }
    const parts: Array<ImagePart | TextPart> = [];
    const frames = turn.frames === true;
    const labelled = how.labels === 'parts' && (turn.images.length > 1 || frames);
    for (const [i, image] of turn.images.entries()) {
      // A frame is one tile (the model card's max_num=1): already 448×448, so every server tiles it so.
      const { part, tokens } = await imagePart(image.path, frames ? 1 : maxTiles, how.recompress);
      if (labelled) parts.push({ type: 'text', text: `${i === 0 ? '' : '\n'}${imageLabel(i + 1, frames)}` });
      parts.push(part);
      imageTokens += tokens;
      imageCount++;
    }
    parts.push({ type: 'text', text: labelled ? `\n${turn.text}` : userText(turn.text, turn.images.length, frames) });
    messages.push({ role: 'user', content: parts });
  }
  return {
    body: {
      model,
      messages,
      max_tokens: options.maxTokens,
      temperature: options.temperature,
      stream: true,
      stream_options: { include_usage: true },
      skip_special_tokens: false,
      mm_processor_kwargs: { max_dynamic_patch: maxTiles },
      cache_prompt: true,
    },
    imageTokens,
    imageCount,
  };
}
