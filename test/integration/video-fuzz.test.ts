// Hostile videos: generated corruptions of an H.264 MP4 (bytes flipped in its sample tables and in
// its frames, zeroed stretches, truncations, a sample table pointing past the end), read as the
// chat reads a clip. Each read must end within its deadline with frames (valid PNGs) or a
// CaptureError saying why; nothing else thrown, no ffmpeg left running. Both ways of reading an
// H.264 group are driven: directly, and copied with unreferenced frames left out (ffmpeg.ts).
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { CaptureError } from '../../src/capture/errors';
import { sampleClip } from '../../src/video/clip';
import { extractFrames, findFfmpeg, probeVideo } from '../../src/video/ffmpeg';
import { frameIndices } from '../../src/video/sampling';
import { makeClip, processesReading, X264_DEFAULTS } from '../fixtures/clips';
import { prng } from '../fixtures/gguf-mutations';

const SEED = Number(process.env.LENS_VIDEO_FUZZ_SEED ?? 18);
const CASES = 48;
const DEADLINE_MS = 20_000;

let dir: string;
let clip: Buffer;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lens-video-fuzz-'));
  clip = readFileSync(await makeClip(dir, { container: 'mp4', fps: 30, seconds: 10, codec: X264_DEFAULTS }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Where box `type` (e.g. 'stsz') starts in the file, or -1. */
const boxAt = (bytes: Buffer, type: string) => bytes.indexOf(Buffer.from(type, 'latin1')) - 4;

function corrupt(rnd: ReturnType<typeof prng>, n: number): { what: string; bytes: Buffer } {
  const bytes = Buffer.from(clip);
  const kind = n % 6;
  if (kind === 0) {
    const at = rnd.int(bytes.length);
    return { what: `truncated at ${at}`, bytes: bytes.subarray(0, at) };
  }
  if (kind === 1 || kind === 2) {
    // In the sample tables (sizes, offsets, sync samples, composition offsets) or anywhere in moov.
    const table = rnd.pick(['stsz', 'stco', 'stss', 'ctts', 'stts', 'stsc', 'avcC', 'moov']);
    const start = Math.max(0, boxAt(bytes, table));
    for (let i = 0; i < 1 + rnd.int(16); i++) {
      const at = Math.min(bytes.length - 1, start + 8 + rnd.int(64));
      bytes[at] = bytes[at]! ^ (1 << rnd.int(8));
    }
    return { what: `bits flipped in ${table}`, bytes };
  }
  if (kind === 3) {
    // In the frames: NAL lengths and headers the reference check reads.
    const mdat = boxAt(bytes, 'mdat');
    for (let i = 0; i < 1 + rnd.int(64); i++) bytes[mdat + 8 + rnd.int(bytes.length - mdat - 8)] = rnd.int(256);
    return { what: 'bytes changed in mdat', bytes };
  }
  if (kind === 4) {
    const at = rnd.int(bytes.length - 4096);
    bytes.fill(0, at, at + 4096);
    return { what: `4 KiB zeroed at ${at}`, bytes };
  }
  // A sample's offset pointing past the end of the file.
  const stco = boxAt(bytes, 'stco');
  if (stco >= 0) bytes.writeUInt32BE(0x7fff_fff0, stco + 16 + 4 * rnd.int(4));
  return { what: 'a chunk offset past the end', bytes };
}

describe('hostile videos', () => {
  it(`${CASES} corruptions of an H.264 MP4: frames or a CaptureError, each within ${DEADLINE_MS / 1000} s, no ffmpeg left`, async () => {
    const rnd = prng(SEED);
    const tools = await findFfmpeg('');
    const outcomes = { frames: 0, refused: 0 };
    for (let n = 0; n < CASES; n++) {
      const { what, bytes } = corrupt(rnd, n);
      const path = join(dir, `case-${n}.mp4`);
      writeFileSync(path, bytes);
      const t0 = performance.now();
      // Odd cases: every H.264 group copied with its unreferenced frames left out, however light.
      const read = n % 2 === 0
        ? sampleClip(path, { ffmpegPath: '', frames: 8 }).then((c) => c.frames.map((f) => f.png))
        : probeVideo(tools, path).then((info) => extractFrames(tools, path, info, frameIndices({ bound: null, fps: info.fps, maxFrame: info.times.length - 1 }), { width: 96, height: 32 }, join(dir, `work-${n}`), undefined, 0));
      let deadline: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        read.then((pngs) => ({ pngs }), (err: unknown) => ({ err })),
        new Promise<{ hung: true }>((resolve) => (deadline = setTimeout(() => resolve({ hung: true }), DEADLINE_MS))),
      ]);
      clearTimeout(deadline);
      assert.ok(!('hung' in outcome), `case ${n} (${what}) still running after ${DEADLINE_MS} ms`);
      if ('err' in outcome) {
        assert.ok(outcome.err instanceof CaptureError, `case ${n} (${what}): ${String(outcome.err)}`);
        assert.ok(outcome.err.message.length > 10 && outcome.err.message.length < 600, `case ${n}: ${outcome.err.message}`);
        outcomes.refused++;
        if (process.env.LENS_VIDEO_FUZZ_VERBOSE) console.log(`case ${n} (${what}): ${outcome.err.message}`);
      } else {
        for (const png of outcome.pngs) assert.equal((await sharp(png).metadata()).format, 'png', `case ${n} (${what})`);
        outcomes.frames++;
      }
      assert.ok(performance.now() - t0 < DEADLINE_MS);
      assert.equal(processesReading(path), 0, `case ${n} (${what}): an ffmpeg still reads it`);
    }
    console.log(`hostile videos: ${outcomes.frames} read, ${outcomes.refused} refused`);
    assert.ok(outcomes.frames > 0 && outcomes.refused > 0, 'some corruptions are read around, others refused');
  });
});
