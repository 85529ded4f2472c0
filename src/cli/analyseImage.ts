// One image, one question, one answer in the public grounding schema: what `ask`, `ground`, `batch`
// and the MCP server's tools all do. The image is read bounded (src/files.ts), probed before anything
// decodes it, sized to InternVL's reference grid as the chat sends it, and the regions come back in
// its original pixels (toPublicRegion).
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChatStats, Engine, TokenListener } from '../engine/engine';
import { EngineError } from '../engine/errors';
import { FileRefusedError, readRegularFile } from '../files';
import { presetPrompt, type Region } from '../grounding';
import { answerAboutImages, locateInImages, type AnswerOptions } from '../grounding/answer';
import type { RefineMode } from '../config';
import { prepareForModel, probeImage, type PreparedImage } from '../images';
import type { GroundingResult } from '../protocol/grounding';
import { MAX_ATTACHMENT_BYTES } from '../protocol/webview';

/** `ask`: the question as given; `ground`: where is TARGET (the locate prompt). */
export type ImageCommand = 'ask' | 'ground';

/** The public grounding result plus what the CLI adds: the command, the question sent, the grid and stats. */
export interface ImageAnswer extends GroundingResult {
  command: ImageCommand;
  image: GroundingResult['image'] & { path: string; model: { cols: number; rows: number; thumbnail: boolean; tokens: number } };
  question: string;
  stats: ChatStats;
}

/** Where a request is, for progress reports. */
export type ImageStage = 'reading' | 'preparing' | 'asking' | 'answering' | 'refining';

export interface ImageRequest {
  path: string;
  command: ImageCommand;
  /** The question (ask) or the thing to find (ground). */
  text: string;
  maxTiles: number;
  maxTokens: number;
  /** Device pixels per logical pixel (a HiDPI screen capture); 1 for files. */
  devicePixelRatio?: number;
  /** `ground` only: a zoom-in second pass around each box (src/images/refine.ts); default off. */
  refine?: RefineMode;
  signal?: AbortSignal;
  onStage?: (stage: ImageStage) => void;
  onToken?: TokenListener;
}

export interface AnalysedImage {
  result: ImageAnswer;
  prepared: PreparedImage;
  /** The regions (0..1 of what the model saw; the refined ones where a second look found them), for drawing them. */
  regions: Region[];
}

/** Where the model-sized copies of the CLI's images (and a clip's frames: analyseClip.ts) go. */
export const MODEL_COPIES = join(tmpdir(), 'internvl-lens-cli');

export async function analyseImage(engine: Engine, request: ImageRequest): Promise<AnalysedImage> {
  const imagePath = resolve(request.path);
  request.onStage?.('reading');
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(imagePath, MAX_ATTACHMENT_BYTES, `The image ${imagePath}`);
  } catch (err) {
    if (err instanceof FileRefusedError) throw new EngineError('bad-request', err.message);
    throw err;
  }
  probeImage(bytes, imagePath);
  request.onStage?.('preparing');
  const question = request.command === 'ground' ? presetPrompt('locate', request.text).prompt : request.text;
  // The image goes to the model sized to InternVL's reference grid, as the chat sends it.
  const key = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  const prepared = await prepareForModel(imagePath, {
    outDir: MODEL_COPIES,
    key,
    maxTiles: request.maxTiles,
    devicePixelRatio: request.devicePixelRatio ?? 1,
  });
  request.onStage?.('asking');
  let first = true;
  const images = [{ modelPath: prepared.modelPath, transform: prepared.transform, path: imagePath }];
  const options: AnswerOptions = {
    maxTokens: request.maxTokens,
    signal: request.signal,
    onToken: (text, tokens) => {
      if (first) {
        first = false;
        request.onStage?.('answering');
      }
      request.onToken?.(text, tokens);
    },
  };
  const { result, regions, stats } =
    request.command === 'ground'
      ? await locateInImages(engine, images, question, {
          ...options,
          refine: { mode: request.refine ?? 'off', imagePath, maxTiles: request.maxTiles, outDir: MODEL_COPIES, key, onRefine: () => request.onStage?.('refining') },
        })
      : await answerAboutImages(engine, images, question, options);
  return {
    result: {
      ...result,
      command: request.command,
      // Upright (EXIF-applied) size: the pixels the regions are given in.
      image: { ...result.image, path: imagePath, model: { ...prepared.grid, tokens: prepared.tokens } },
      question,
      stats,
    },
    prepared,
    regions,
  };
}

/** The error as the CLI prints it: a code, a message, and the setting to change when there is one. */
export function describeError(err: unknown): { code: string; message: string; setting?: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = e instanceof EngineError ? e.code : e.name === 'ImageError' ? 'bad-image' : e.name === 'CaptureError' ? 'capture-failed' : 'internal';
  const setting = e instanceof EngineError ? e.setting : undefined;
  return { code, message: e.message, ...(setting ? { setting } : {}) };
}
