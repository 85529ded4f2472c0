// `internvl-lens ask --video FILE "question" [--frames N] [--start S] [--end S]`: a clip's frames
// (InternVL's get_index, one tile each) and the question, one JSON object on stdout.
import { DEFAULT_FRAME_COUNT, frameCountProblem, MAX_FRAME_COUNT } from '../video/sampling';
import { analyseClip } from './analyseClip';
import { engineFromFlags, type EngineFlagValues, UsageError } from './engineFlags';

export const VIDEO_FLAGS = {
  video: { type: 'string' },
  frames: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
  ffmpeg: { type: 'string' },
} as const;

export const VIDEO_USAGE = `  --video FILE       a video (MP4, WebM, MOV, MKV; needs ffmpeg) or an animated GIF, WebP or APNG
  --frames N         frames shown to the model, 1–${MAX_FRAME_COUNT} (default ${DEFAULT_FRAME_COUNT}; each costs 258 tokens)
  --start S, --end S only this part of the clip, in seconds
  --ffmpeg PATH      the ffmpeg to read videos with (default: $INTERNVL_LENS_FFMPEG, then PATH)`;

export interface VideoFlagValues extends EngineFlagValues {
  video?: string;
  frames?: string;
  start?: string;
  end?: string;
  ffmpeg?: string;
}

function secondsFlag(value: string | undefined, name: string): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be seconds (0 or more), got ${value}`);
  return n;
}

export async function askVideo(positionals: string[], values: VideoFlagValues): Promise<number> {
  const [command, text] = positionals;
  if (command !== 'ask' || !text || positionals.length > 2 || !values.video) throw new UsageError('expected: ask --video FILE "question"');
  const frames = values.frames === undefined ? DEFAULT_FRAME_COUNT : Number(values.frames);
  const problem = frameCountProblem(frames);
  if (problem) throw new UsageError(`--frames: ${problem}`);
  const start = secondsFlag(values.start, 'start');
  const end = secondsFlag(values.end, 'end');
  if (start !== null && end !== null && end <= start) throw new UsageError(`--end (${end}) must be after --start (${start})`);
  const { engine, maxTokens, contextSize } = engineFromFlags(values);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const result = await analyseClip(engine, {
      path: values.video,
      text,
      frames,
      start,
      end,
      maxTokens,
      contextSize,
      ffmpegPath: values.ffmpeg ?? process.env.INTERNVL_LENS_FFMPEG ?? '',
      signal: abort.signal,
      fewerFrames: (n) => `Ask with --frames ${n}, or raise --context.`,
    });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await engine.dispose();
  }
}
