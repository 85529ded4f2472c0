// `internvl-lens batch`: one question (or one thing to find) over many images, one JSON line per
// image in --out. Requests run concurrently on the engine's slots (llama-server's --parallel; the
// remote server's own batching), the model loaded once. A file that cannot be read or is not an
// image gets an error line and the run goes on; an engine that cannot run (no model, a crash it
// gives up on) ends the run. --resume skips the images that already have a result line.
import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Engine } from '../engine/engine';
import { EngineError } from '../engine/errors';
import { readRegularFile } from '../files';
import { IMAGE_EXTENSIONS } from '../images';
import type { RefineMode } from '../config';
import { analyseImage, describeError, type ImageAnswer, type ImageCommand } from './analyseImage';
import { ENGINE_FLAGS, engineFromFlags, integerFlag, UsageError } from './engineFlags';
import { expandGlob, isGlob } from './glob';

export const BATCH_USAGE = `batch options:
  --question Q       ask Q about every image            (one of --question and --ground)
  --ground TARGET    find TARGET on every image (regions in original pixels)
  --out FILE         the results, one JSON line per image (required)
  --resume           skip images that already have a result line in --out (failed ones are retried)
  --concurrency N    requests at once (default 2, the local server's slots)
  exit code: 0 every image answered; 64 + the number that failed (at most 127: 63 or more);
  1 the run could not go on (no model, the engine failed), 2 a wrong command line`;

/** Exit codes of a batch run in which some images failed: 64 + how many, capped. */
export const BATCH_FAILED_BASE = 64;
const BATCH_FAILED_CAP = 63;
/** Most images in one run, and most bytes of an --out file read back by --resume. */
const MAX_BATCH_FILES = 100_000;
const MAX_RESULTS_BYTES = 1024 * 1024 * 1024;
const IMAGE_FILE = new RegExp(`\\.(${IMAGE_EXTENSIONS.join('|')})$`, 'i');

/** A line of the results file for an image that failed. */
export interface BatchErrorLine {
  image: { path: string };
  error: { code: string; message: string; setting?: string };
}
export type BatchLine = ImageAnswer | BatchErrorLine;

/** Errors that belong to one image; any other error means the engine cannot answer anything. */
const IMAGE_FAILURES = new Set(['bad-image', 'bad-request', 'context-overflow']);

export function isImageFailure(err: unknown): boolean {
  return IMAGE_FAILURES.has(describeError(err).code) || (err instanceof Error && err.name === 'ImageError');
}

/** The files the arguments name: plain paths as given (a missing one gets its error line), folders' images, globs expanded. */
export async function batchFiles(args: string[], cwd = process.cwd()): Promise<string[]> {
  const files: string[] = [];
  for (const arg of args) {
    const found = await stat(resolve(cwd, arg)).catch(() => null);
    if (found?.isDirectory()) {
      // A folder: its images (by extension), not its sub-folders.
      const names = (await readdir(resolve(cwd, arg), { withFileTypes: true })).filter((e) => e.isFile() && IMAGE_FILE.test(e.name)).map((e) => join(resolve(cwd, arg), e.name));
      if (names.length === 0) throw new UsageError(`${arg} is a folder without images (${IMAGE_EXTENSIONS.join(', ')})`);
      files.push(...names.sort());
    } else if (isGlob(arg) && !found) {
      const matches = await expandGlob(arg, cwd, MAX_BATCH_FILES);
      if (matches.length === 0) throw new UsageError(`${arg} matches no files`);
      files.push(...matches);
    } else files.push(resolve(cwd, arg));
  }
  const unique = [...new Set(files)];
  if (unique.length > MAX_BATCH_FILES) throw new UsageError(`${unique.length} images in one run; at most ${MAX_BATCH_FILES}`);
  return unique;
}

/** The images with a result line in an existing results file (lines that do not parse are ignored). */
export async function answeredImages(outPath: string): Promise<{ paths: Set<string>; endsWithNewline: boolean }> {
  const paths = new Set<string>();
  const text = (await readRegularFile(outPath, MAX_RESULTS_BYTES, `The results file ${outPath}`)).toString('utf8');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const parsed = JSON.parse(line) as Partial<BatchLine>;
      if (parsed && typeof parsed === 'object' && !('error' in parsed) && typeof parsed.image?.path === 'string' && typeof (parsed as ImageAnswer).answer === 'string') paths.add(parsed.image.path);
    } catch {
      // A line cut short by a run that was stopped: its image is asked again.
    }
  }
  return { paths, endsWithNewline: text.length === 0 || text.endsWith('\n') };
}

export interface BatchOptions {
  engine: Engine;
  files: string[];
  command: ImageCommand;
  text: string;
  maxTiles: number;
  maxTokens: number;
  /** Zoom-in refine for `ground` (src/images/refine.ts); default off. */
  refine?: RefineMode;
  concurrency: number;
  /** Receives each finished line, in the order they finish. */
  onLine: (line: BatchLine, index: number) => Promise<void> | void;
  signal?: AbortSignal;
}

export interface BatchSummary {
  answered: number;
  failed: number;
  ms: number;
}

/**
 * Asks about every file with up to `concurrency` requests at once. Per-image failures become
 * error lines; an engine failure stops the run (in-flight requests are aborted) and is thrown.
 */
export async function runImages(options: BatchOptions): Promise<BatchSummary> {
  const t0 = performance.now();
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let next = 0;
  let answered = 0;
  let failed = 0;
  let fatal: unknown = null;
  const worker = async () => {
    while (!signal.aborted) {
      const index = next++;
      const path = options.files[index];
      if (path === undefined) return;
      try {
        const { result } = await analyseImage(options.engine, { path, command: options.command, text: options.text, maxTiles: options.maxTiles, maxTokens: options.maxTokens, refine: options.refine ?? 'off', signal });
        if (signal.aborted) return;
        answered++;
        await options.onLine(result, index);
      } catch (err) {
        if (!isImageFailure(err)) {
          fatal ??= err;
          stop.abort();
          return;
        }
        failed++;
        await options.onLine({ image: { path }, error: describeError(err) }, index);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, options.files.length)) }, worker));
  if (fatal) throw fatal;
  return { answered, failed, ms: performance.now() - t0 };
}

export async function runBatch(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...ENGINE_FLAGS,
      question: { type: 'string' },
      ground: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  if ((values.question === undefined) === (values.ground === undefined)) throw new UsageError('batch needs one of --question Q or --ground TARGET');
  const text = (values.question ?? values.ground)!;
  if (!text.trim()) throw new UsageError('the question (or target) is empty');
  if (!values.out) throw new UsageError('batch needs --out FILE for the results (one JSON line per image)');
  if (positionals.length === 0) throw new UsageError('batch needs at least one image file or glob');
  const concurrency = integerFlag(values.concurrency, 'concurrency', 2);
  if (concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency must be from 1 to 64, got ${concurrency}`);
  const outPath = resolve(values.out);
  const existing = await stat(outPath).catch(() => null);
  let skip = new Set<string>();
  let needsNewline = false;
  if (existing && existing.size > 0) {
    if (!values.resume) throw new UsageError(`${outPath} already holds results: add --resume to continue it, or choose another --out`);
    const answered = await answeredImages(outPath);
    skip = answered.paths;
    needsNewline = !answered.endsWithNewline;
  }
  const all = await batchFiles(positionals);
  const files = all.filter((f) => !skip.has(f));
  const skipped = all.length - files.length;
  const { engine, maxTiles, maxTokens, refine } = engineFromFlags(values);
  const out = await open(outPath, 'a');
  if (needsNewline) await out.write('\n');
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  let done = 0;
  process.stderr.write(`batch: ${files.length} image${files.length === 1 ? '' : 's'} to ask${skipped ? ` (${skipped} already answered in ${outPath})` : ''}, ${concurrency} at a time\n`);
  try {
    const summary = await runImages({
      engine,
      files,
      command: values.ground !== undefined ? 'ground' : 'ask',
      text,
      maxTiles,
      maxTokens,
      refine,
      concurrency,
      signal: abort.signal,
      onLine: async (line) => {
        await out.write(`${JSON.stringify(line)}\n`);
        done++;
        const status = 'error' in line ? `failed: ${line.error.message}` : `ok (${line.regions.length} regions, ${line.stats.generatedTokens} tokens)`;
        process.stderr.write(`[${done}/${files.length}] ${line.image.path} ${status}\n`);
      },
    });
    const perMinute = summary.ms > 0 ? (summary.answered + summary.failed) / (summary.ms / 60_000) : 0;
    process.stderr.write(
      `batch: ${summary.answered} answered, ${summary.failed} failed, ${skipped} skipped in ${(summary.ms / 1000).toFixed(1)} s (${perMinute.toFixed(1)} images/min); results in ${outPath}\n`,
    );
    if (abort.signal.aborted) return 130;
    return summary.failed === 0 ? 0 : BATCH_FAILED_BASE + Math.min(summary.failed, BATCH_FAILED_CAP);
  } catch (err) {
    if (err instanceof EngineError) process.stderr.write(`batch: stopped: ${err.message}\n`);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    await out.close();
    await engine.dispose();
  }
}
