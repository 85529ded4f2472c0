// Clips made in the test (every frame shows its own number), read back through ffmpeg and sharp:
// the frames extracted are exactly the ones InternVL's get_index chooses, at the right times.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CaptureError } from '../../src/capture/errors';
import { userErrorOf } from '../../src/userError';
import { imageMoves, sampleClip } from '../../src/video/clip';
import sharp from 'sharp';
import { encodePng, solidImage } from '../fixtures/png';
import { dropExpression, extractFrames, ffmpegCanDrop, type FrameGroup, runArgs, ffmpegInstallAdvice, findFfmpeg, groupFrames, keyFrameBefore, probeVideo, referencedFrames, shareRuns, withDropping } from '../../src/video/ffmpeg';
import { frameIndices } from '../../src/video/sampling';
import { frameNumberOf, makeAnimation, makeApng, makeClip, processesReading, X264_DEFAULTS, X264_FINE, X264_INTERLACED, X265_DEFAULTS, type ClipSpec } from '../fixtures/clips';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lens-video-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const CLIPS: (ClipSpec & { frames: number; start?: number; end?: number })[] = [
  { container: 'mp4', fps: 30, seconds: 4, frames: 8 },
  { container: 'mp4', fps: '30000/1001', seconds: 3, frames: 8 },
  { container: 'mov', fps: 24, seconds: 5, frames: 6, start: 1.5, end: 4 },
  { container: 'webm', fps: 25, seconds: 3, frames: 8 },
  { container: 'mkv', fps: 60, seconds: 2, frames: 12, end: 1.25 },
  { container: 'mp4', fps: 5, seconds: 1, frames: 8 },
  { container: 'mkv', fps: 12, seconds: 6, frames: 3, start: 2 },
  // Several frames after each key frame (every 50, B-frames), the groups over two runs.
  { container: 'mov', fps: 30, seconds: 8, frames: 32 },
  // libx264's defaults (B-pyramid, a key frame every 250); with grain at CRF 4, heavy enough that
  // the unreferenced frames are left out before decoding (ffmpeg.ts withDropping: asserted below).
  { container: 'mp4', fps: 30, seconds: 20, frames: 32, codec: X264_DEFAULTS },
  { container: 'mp4', fps: 30, seconds: 12, frames: 8, start: 1, end: 11, codec: X264_FINE, width: 320, height: 180, grain: true },
  // Matroska: decoded directly (its packet positions are its blocks', not its data's).
  { container: 'mkv', fps: 25, seconds: 12, frames: 16, codec: X264_FINE, width: 320, height: 180, grain: true },
  // HEVC (libx265: B-frames, open GOPs), in MP4 and MOV.
  { container: 'mp4', fps: 30, seconds: 20, frames: 32, codec: X265_DEFAULTS },
  { container: 'mov', fps: 25, seconds: 12, frames: 8, start: 2, codec: X265_DEFAULTS },
  // Interlaced (two fields a frame): a frame is still a frame, as decord counts them.
  { container: 'mp4', fps: 25, seconds: 4, frames: 8, codec: X264_INTERLACED },
  { container: 'mkv', fps: 25, seconds: 4, frames: 5, start: 1, codec: X264_INTERLACED },
];

describe('videos through ffmpeg', () => {
  for (const spec of CLIPS) {
    const label = `${spec.container}${spec.codec === X264_DEFAULTS ? ' (x264 defaults)' : spec.codec === X264_INTERLACED ? ' (interlaced)' : spec.codec === X264_FINE ? ' (x264, grain at CRF 4)' : spec.codec === X265_DEFAULTS ? ' (HEVC)' : ''} at ${spec.fps} fps, ${spec.seconds} s, ${spec.frames} frames${spec.start !== undefined || spec.end !== undefined ? ` from ${spec.start ?? 0} s to ${spec.end ?? 'the end'}` : ''}`;
    it(`${label}: the frames shown are get_index's, at their times`, async () => {
      const path = await makeClip(dir, spec);
      const clip = await sampleClip(path, { ffmpegPath: '', frames: spec.frames, start: spec.start ?? null, end: spec.end ?? null });
      const fps = typeof spec.fps === 'number' ? spec.fps : 30000 / 1001;
      assert.ok(Math.abs(clip.fps - fps) < 1e-6, `fps ${clip.fps}`);
      assert.equal(clip.frameCount, Math.round(spec.seconds * fps));
      const bound = spec.start !== undefined || spec.end !== undefined ? ([spec.start ?? 0, spec.end ?? clip.frameCount / fps] as [number, number]) : null;
      const expected = frameIndices({ bound, fps, maxFrame: clip.frameCount - 1, numSegments: spec.frames });
      assert.deepEqual(clip.frames.map((f) => f.index), expected);
      // What each picture shows is the frame it claims to be.
      assert.deepEqual(await Promise.all(clip.frames.map((f) => frameNumberOf(f.png))), expected);
      for (const f of clip.frames) assert.ok(Math.abs(f.seconds - f.index / fps) < 0.002, `frame ${f.index} at ${f.seconds} s`);
      assert.deepEqual(clip.frames.map((f) => f.number), expected.map((_, i) => i + 1));
      assert.equal(clip.source, 'ffmpeg');
      if (spec.grain && spec.container === 'mp4') {
        const info = await probeVideo(await findFfmpeg(''), path);
        const groups = await withDropping(path, info, groupFrames(info, expected));
        assert.ok(groups.filter((g) => g.dropping).length >= groups.length / 2, `most groups copied with their unreferenced frames left out: ${groups.map((g) => `${g.key}:${g.indices.length}:${g.dropping ? 'copied' : 'decoded'}`).join(' ')}`);
      }
    });
  }

  it('a 1080p frame is stored at most 1024 px on its long side, in the clip aspect', async () => {
    const path = await makeClip(dir, { container: 'mp4', fps: 10, seconds: 1, width: 1920, height: 1080 });
    const clip = await sampleClip(path, { ffmpegPath: '', frames: 2 });
    assert.deepEqual([clip.width, clip.height], [1920, 1080]);
    assert.deepEqual([clip.frames[0]!.width, clip.frames[0]!.height], [1024, 576]);
    assert.deepEqual(await Promise.all(clip.frames.map((f) => frameNumberOf(f.png))), clip.frames.map((f) => f.index));
  });

  it('a start past the end, or an empty part, is refused in words', async () => {
    const path = await makeClip(dir, { container: 'mp4', fps: 10, seconds: 1 });
    await assert.rejects(sampleClip(path, { ffmpegPath: '', start: 5 }), /1\.00 s long; a start at 5 s is past its end/);
    await assert.rejects(sampleClip(path, { ffmpegPath: '', start: 0.8, end: 0.2 }), /is empty/);
    await assert.rejects(sampleClip(path, { ffmpegPath: '', frames: 40 }), /1 to 32/);
  });

  it('a file that is no video: ffmpeg says why, bounded', async () => {
    const path = join(dir, 'not-a-video.mp4');
    writeFileSync(path, 'hello');
    await assert.rejects(sampleClip(path, { ffmpegPath: '' }), (err: unknown) => err instanceof CaptureError && /ffprobe of not-a-video\.mp4 failed|no video/.test(err.message));
  });
});

describe('frames grouped by the key frame before them', () => {
  it('frames after one key frame share one decode; the runs share the decoding evenly', () => {
    const info = { keyFrames: [0, 50, 100, 150] };
    assert.deepEqual([keyFrameBefore(info, 49), keyFrameBefore(info, 50), keyFrameBefore(info, 999)], [0, 50, 150]);
    const groups = groupFrames(info, [120, 10, 60, 10, 140, 70, 160]);
    assert.deepEqual(groups, [
      { key: 0, indices: [10], cost: 11 },
      { key: 50, indices: [60, 70], cost: 21 },
      { key: 100, indices: [120, 140], cost: 41 },
      { key: 150, indices: [160], cost: 11 },
    ]);
    assert.deepEqual(
      shareRuns(groups, 2).map((run) => run.map((g) => g.indices)),
      [[[120, 140]], [[10], [60, 70], [160]]],
    );
    assert.equal(shareRuns(groups, 8).length, 4);
    // No key frame listed: one decode from the start through every frame.
    assert.deepEqual(groupFrames({ keyFrames: [] }, [5, 3]), [{ key: 0, indices: [3, 5], cost: 6 }]);
  });
});

/** The reference: the frames (display indices, ascending) ffmpeg's own decoder still outputs with -skip_frame noref. */
function framesFfmpegKeeps(path: string, info: { times: number[] }): number[] {
  return execFileSync('ffprobe', ['-v', 'error', '-skip_frame', 'noref', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', path], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(',')[0]!.trim())
    .filter((t) => t !== '')
    .map((t) => info.times.findIndex((x) => Math.abs(x - Number(t)) < 1e-4))
    .sort((a, b) => a - b);
}

describe('leaving out the frames no other frame refers to (H.264)', () => {
  it("says which frames are referenced exactly as ffmpeg's decoder skips them, and reads all-referenced groups exactly", async () => {
    const path = await makeClip(dir, { container: 'mp4', fps: 30, seconds: 20, codec: X264_DEFAULTS });
    const tools = await findFfmpeg('');
    const info = await probeVideo(tools, path);
    assert.ok(info.packets, 'length-prefixed H.264 is recognised');
    const referenced = await referencedFrames(path, info, info.times.map((_, i) => i));
    assert.ok(referenced);
    // The reference: the frames ffmpeg's own decoder still outputs with -skip_frame noref.
    const kept = framesFfmpegKeeps(path, info);
    assert.deepEqual(referenced.flatMap((r, i) => (r ? [i] : [])), kept);
    assert.ok(kept.length > 0.3 * info.times.length && kept.length < 0.8 * info.times.length, `${kept.length} of ${info.times.length} referenced: B-frames are in the clip`);
    // Ten referenced frames after the second key frame; three unreferenced ones (and one after) after the first.
    const second = info.keyFrames[1] ?? 0;
    const refs = referenced.flatMap((r, i) => (r && i > second + 20 ? [i] : [])).filter((i) => keyFrameBefore(info, i) === second).slice(0, 10);
    const unref = referenced.flatMap((r, i) => (!r && i > 5 && keyFrameBefore(info, i) === 0 ? [i] : [])).slice(0, 3);
    const asked = [...refs, ...unref, unref.at(-1)! + 1];
    // Every group copied however little it leaves out (the stripes are light: MIN_BYTES_LEFT_OUT would decode them directly).
    const groups = await withDropping(path, info, groupFrames(info, asked), 0);
    assert.deepEqual(groups.map((g) => g.key), [0, second]);
    // All ten referenced: the decoder skips the others itself, nothing copied.
    assert.equal(groups[1]!.dropping, undefined);
    assert.equal(groups[1]!.skipping?.picks.length, 10);
    // With unreferenced frames asked for: copied, sent every referenced frame decoded before the
    // last one asked for, and the ones asked for.
    for (const g of groups.slice(0, 1)) {
      const { decode, display } = info.packets!;
      const last = Math.max(...g.indices.map((i) => decode[i]!));
      const shown: number[] = display.slice(decode[g.key]!, last + 1);
      const sent: number[] = shown.filter((d) => referenced[d]! || g.indices.includes(d));
      assert.equal(g.dropping?.through, shown.length - 1);
      assert.equal(g.cost, sent.length);
      assert.equal(g.dropping!.drop.length, shown.length - sent.length);
      assert.ok(g.dropping!.drop.length > 0, 'frames are left out');
    }
    const pngs = await extractFrames(tools, path, info, asked, { width: 192, height: 64 }, join(dir, 'drop-frames'), undefined, 0);
    assert.deepEqual(await Promise.all(pngs.map(frameNumberOf)), asked, 'exactly the frames asked for');
  });

  it("HEVC: the frames referenced are the ones ffmpeg's decoder keeps; a group is read exactly with the others left out, and an open GOP's is decoded as it is", async () => {
    const path = await makeClip(dir, { container: 'mp4', fps: 30, seconds: 20, codec: X265_DEFAULTS });
    const tools = await findFfmpeg('');
    const info = await probeVideo(tools, path);
    assert.equal(info.packets?.codec, 'hevc');
    const referenced = (await referencedFrames(path, info, info.times.map((_, i) => i)))!;
    const kept = framesFfmpegKeeps(path, info);
    assert.deepEqual(referenced.flatMap((r, i) => (r ? [i] : [])), kept);
    assert.ok(kept.length < 0.8 * info.times.length, `${kept.length} of ${info.times.length} referenced`);
    // The first group starts at the IDR (closed): copied; the second at a CRA with leading pictures shown before it: decoded.
    const asked = [40, 41, 42, 43, info.keyFrames[1]! + 50, info.keyFrames[1]! + 51];
    const groups = await withDropping(path, info, groupFrames(info, asked), 0);
    assert.deepEqual(groups.map((g) => [g.dropping !== undefined, g.skipping !== undefined]), [[true, false], [false, false]]);
    const pngs = await extractFrames(tools, path, info, asked, { width: 192, height: 64 }, join(dir, 'hevc-frames'), undefined, 0);
    assert.deepEqual(await Promise.all(pngs.map(frameNumberOf)), asked);
  });

  it("a drop expression of hundreds of packets is one ffmpeg parses (it refuses a sum of over 100 terms), leaving out exactly those", async () => {
    assert.equal(dropExpression([1, 2, 3, 5, 9, 10], 20), 'between(n\\,1\\,3)+eq(n\\,5)+between(n\\,9\\,10)+gt(n\\,20)');
    const path = await makeClip(dir, { container: 'mp4', fps: 30, seconds: 30, codec: X264_DEFAULTS });
    // Every other packet of the first 600, and all after 700.
    const drop = Array.from({ length: 300 }, (_, i) => 2 * i + 1);
    const out = join(dir, 'dropped.nut');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', path, '-map', '0:v:0', '-c', 'copy', '-bsf:v', `noise=drop=${dropExpression(drop, 700)}`, '-f', 'nut', out]);
    const sizes = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=size', '-of', 'csv=p=0', out], { encoding: 'utf8' }).trim().split('\n').map(Number);
    const all = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=size', '-of', 'csv=p=0', path], { encoding: 'utf8' }).trim().split('\n').map(Number);
    assert.deepEqual(sizes, all.slice(0, 701).filter((_, n) => !drop.includes(n)));
  });

  it("past 16,000 characters of drop expressions a run's groups are decoded as they are (Windows' command-line limit)", async () => {
    const path = await makeClip(dir, { container: 'mp4', fps: 30, seconds: 4, codec: X264_DEFAULTS });
    const info = await probeVideo(await findFfmpeg(''), path);
    const heavy = (key: number): FrameGroup => ({ key, indices: [key + 1], cost: 2, dropping: { drop: Array.from({ length: 800 }, (_, i) => 2 * i), through: 1600, seconds: 1, picks: [0] } });
    const { copy, decode } = runArgs(path, info, [heavy(0), heavy(10), heavy(20)], 0, { width: 64, height: 32 }, dir, []);
    const expressions = copy!.filter((a) => a.startsWith('noise=drop='));
    assert.ok(expressions.length >= 1 && expressions.length < 3, `${expressions.length} groups copied`);
    assert.ok(expressions.join('').length <= 16_000 + 11 * expressions.length);
    assert.equal(decode.filter((a) => a === path).length, 3 - expressions.length, 'the rest read from the file');
  });

  it('stopping a read kills its ffmpeg runs, the copy and the decoder both', async () => {
    const path = await makeClip(dir, { container: 'mp4', fps: 30, seconds: 20, codec: X264_FINE, width: 320, height: 180, grain: true });
    const running = () => processesReading(path);
    const abort = new AbortController();
    const read = sampleClip(path, { ffmpegPath: '', frames: 32, signal: abort.signal });
    // Stopped once its ffmpeg runs are under way (two runs, each a copy into a decoder).
    const deadline = Date.now() + 20_000;
    while (running() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(running() >= 2, 'ffmpeg runs started');
    abort.abort();
    await assert.rejects(read, (err: unknown) => err instanceof CaptureError && /was stopped/.test(err.message));
    const gone = Date.now() + 5_000;
    while (running() > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
    assert.equal(running(), 0, 'no ffmpeg left reading the clip');
  });

  it("an ffmpeg whose noise filter has no drop expression (4.4, Ubuntu 22.04's) copies nothing and still reads the exact frames", async () => {
    const bin = join(dir, 'ffmpeg-4.4');
    mkdirSync(bin, { recursive: true });
    const log = join(bin, 'calls.log');
    const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
    // What ffmpeg 4.4 prints for `-h bsf=noise`; anything else goes to the real ffmpeg, its arguments logged.
    writeFileSync(join(bin, 'ffmpeg'), `#!/bin/sh\nif [ "$2" = "-h" ]; then printf 'Bit stream filter noise\\nnoise AVOptions:\\n  -amount            <int>        ...VA...B..\\n  -dropamount        <int>        ...VA...B..\\n'; exit 0; fi\necho "$@" >> ${log}\nexec ${real} "$@"\n`);
    chmodSync(join(bin, 'ffmpeg'), 0o755);
    symlinkSync(execFileSync('sh', ['-c', 'command -v ffprobe'], { encoding: 'utf8' }).trim(), join(bin, 'ffprobe'));
    const tools = await findFfmpeg(join(bin, 'ffmpeg'));
    assert.equal(await ffmpegCanDrop(tools), false);
    assert.equal(await ffmpegCanDrop(await findFfmpeg('')), true, "Debian 12's 5.1 has it");
    const path = await makeClip(dir, { container: 'mp4', fps: 30, seconds: 12, codec: X264_FINE, width: 320, height: 180, grain: true });
    const clip = await sampleClip(path, { ffmpegPath: join(bin, 'ffmpeg'), frames: 8 });
    assert.deepEqual(await Promise.all(clip.frames.map((f) => frameNumberOf(f.png))), clip.frames.map((f) => f.index));
    const calls = readFileSync(log, 'utf8');
    assert.ok(calls.length > 0 && !calls.includes('noise=drop'), calls);
  });

  it('is not used for other codecs or containers, nor when a packet is not what the file says', async () => {
    const webm = await makeClip(dir, { container: 'webm', fps: 25, seconds: 3 });
    const tools = await findFfmpeg('');
    assert.equal((await probeVideo(tools, webm)).packets, undefined);
    assert.equal((await probeVideo(tools, await makeClip(dir, { container: 'mkv', fps: 25, seconds: 2, codec: X264_DEFAULTS }))).packets, undefined);
    assert.ok((await probeVideo(tools, await makeClip(dir, { container: 'mov', fps: 25, seconds: 2 }))).packets, 'MOV is');
    const mp4 = await makeClip(dir, { container: 'mp4', fps: 30, seconds: 4, codec: X264_DEFAULTS });
    const info = await probeVideo(tools, mp4);
    // A packet position off by one byte: no NAL unit starts there.
    const shifted = { packets: { ...info.packets!, pos: info.packets!.pos.map((p) => p + 1) } };
    assert.equal(await referencedFrames(mp4, shifted, [0, 1, 2]), null);
    assert.equal(await referencedFrames(mp4, info, [info.times.length]), null);
    assert.equal(await referencedFrames(join(dir, 'gone.mp4'), info, [0, 1]), null);
    assert.deepEqual((await withDropping(webm, { packets: undefined, times: [] }, groupFrames({ keyFrames: [0] }, [3])))[0]!.dropping, undefined);
  });
});

describe('animated images through sharp', () => {
  const delays = [100, 200, 50, 300, 100, 100, 40, 100, 100, 250, 100, 100];
  for (const format of ['gif', 'webp'] as const) {
    it(`${format}: frames by their delays, as get_index over their average rate`, async () => {
      const path = await makeAnimation(join(dir, `anim.${format}`), format, delays);
      const clip = await sampleClip(path, { ffmpegPath: '/nonexistent/ffmpeg' });
      assert.equal(clip.source, 'sharp');
      assert.equal(clip.frameCount, delays.length);
      const total = delays.reduce((a, b) => a + b, 0) / 1000;
      assert.ok(Math.abs(clip.fps - delays.length / total) < 1e-9);
      const expected = frameIndices({ bound: null, fps: clip.fps, maxFrame: delays.length - 1 });
      assert.deepEqual(clip.frames.map((f) => f.index), expected);
      assert.deepEqual(await Promise.all(clip.frames.map((f) => frameNumberOf(f.png))), expected);
      // Each frame starts after the delays before it.
      for (const f of clip.frames) assert.ok(Math.abs(f.seconds - delays.slice(0, f.index).reduce((a, b) => a + b, 0) / 1000) < 1e-9);
    });
  }

  it('whether an image moves is told from its headers: animated GIF, WebP and APNG do; one frame, a device, a pipe or a folder do not', async () => {
    const moving = [await makeAnimation(join(dir, 'moves.gif'), 'gif', [100, 100]), await makeAnimation(join(dir, 'moves.webp'), 'webp', [100, 100]), await makeApng(dir, 5, 1)];
    const png = encodePng(8, 8, solidImage(8, 8, [1, 2, 3, 255]));
    const still: string[] = [];
    // One frame each: a PNG, a GIF, a WebP with an alpha channel (VP8X, not flagged animated), a lossy one (plain VP8).
    for (const [name, bytes] of [['still.png', png], ['still.gif', await sharp(png).gif().toBuffer()], ['still.webp', await sharp(png).webp({ lossless: true }).toBuffer()], ['lossy.webp', await sharp(png).removeAlpha().webp().toBuffer()]] as const) {
      still.push(join(dir, name));
      writeFileSync(still.at(-1)!, bytes);
    }
    for (const path of moving) assert.equal(await imageMoves(path), true, path);
    for (const path of still) assert.equal(await imageMoves(path), false, path);
    const fifo = join(dir, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    mkdirSync(join(dir, 'folder.gif'), { recursive: true });
    const t0 = performance.now();
    for (const path of [fifo, '/dev/zero', join(dir, 'folder.gif'), join(dir, 'missing.webp')]) assert.equal(await imageMoves(path), false, path);
    assert.ok(performance.now() - t0 < 2000, 'nothing waits for a writer or reads a device');
  });

  it('a big PNG is told by its chunk headers alone: acTL after a 40 MB chunk is found with little read', async () => {
    const chunk = (type: string, data: Buffer) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(data.length, 0);
      head.write(type, 4, 'latin1');
      return Buffer.concat([head, data, Buffer.alloc(4)]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(8, 0);
    ihdr.writeUInt32BE(8, 4);
    ihdr[8] = 8;
    ihdr[9] = 6;
    const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    for (const [name, after, expected] of [['big-apng.png', 'acTL', true], ['big-still.png', 'IDAT', false]] as const) {
      const path = join(dir, name);
      // A 40 MB private chunk, sparse on disk (a hole of zeros), then the chunk that decides.
      const big = Buffer.alloc(8);
      big.writeUInt32BE(40 * 1024 * 1024, 0);
      big.write('prVt', 4, 'latin1');
      writeFileSync(path, Buffer.concat([signature, chunk('IHDR', ihdr), big]));
      const fd = openSync(path, 'r+');
      writeSync(fd, chunk(after, Buffer.alloc(8)), 0, 20, 8 + 25 + 8 + 40 * 1024 * 1024 + 4);
      closeSync(fd);
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      assert.equal(await imageMoves(path), expected, name);
      assert.ok(performance.now() - t0 < 200, `${name}: ${(performance.now() - t0).toFixed(0)} ms`);
      assert.ok(process.memoryUsage().rss - rss0 < 16 * 1024 * 1024, `${name}: the 40 MB chunk is not read`);
    }
  });

  it('APNG (ffmpeg-encoded: changed rectangles, blend and dispose) composed frame by frame, no ffmpeg to read it', async () => {
    const path = await makeApng(dir, 10, 2);
    const clip = await sampleClip(path, { ffmpegPath: '/nonexistent/ffmpeg', frames: 8 });
    assert.equal(clip.source, 'apng');
    assert.equal(clip.frameCount, 20);
    const expected = frameIndices({ bound: null, fps: 10, maxFrame: 19 });
    assert.deepEqual(await Promise.all(clip.frames.map((f) => frameNumberOf(f.png))), expected);
    assert.deepEqual(clip.frames.map((f) => f.seconds.toFixed(3)), expected.map((i) => (i / 10).toFixed(3)));
  });
});

describe('without ffmpeg', () => {
  it('says how to install it on each platform, and offers the setting', async () => {
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      const err = await findFfmpeg('', { PATH: empty, HOME: empty }, platform).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof CaptureError, platform);
      assert.equal(err.problem, 'no-tool');
      assert.ok(err.message.includes(ffmpegInstallAdvice(platform)), err.message);
      const shown = userErrorOf(err);
      assert.deepEqual(shown.remedies, [{ kind: 'openSetting', setting: 'internvlLens.ffmpegPath' }]);
    }
    assert.match(ffmpegInstallAdvice('linux'), /apt install ffmpeg.*dnf install ffmpeg/);
    assert.match(ffmpegInstallAdvice('darwin'), /brew install ffmpeg/);
    assert.match(ffmpegInstallAdvice('win32'), /winget install Gyan\.FFmpeg/);
  });

  it('a video with ffmpegPath set to nothing runnable: the message, before anything runs', async () => {
    const path = await makeClip(dir, { container: 'webm', fps: 10, seconds: 1 });
    await assert.rejects(sampleClip(path, { ffmpegPath: join(dir, 'no-such-ffmpeg') }), /internvlLens\.ffmpegPath is .*no-such-ffmpeg, which is not an executable file/);
  });

  it('ffmpegPath set: ffprobe is found beside it', async () => {
    const bin = join(dir, 'own-bin');
    mkdirSync(bin, { recursive: true });
    for (const n of ['ffmpeg', 'ffprobe']) {
      writeFileSync(join(bin, n), '#!/bin/sh\nexit 1\n');
      chmodSync(join(bin, n), 0o755);
    }
    assert.deepEqual(await findFfmpeg(join(bin, 'ffmpeg'), { PATH: '' }, 'linux'), { ffmpeg: join(bin, 'ffmpeg'), ffprobe: join(bin, 'ffprobe') });
  });
});
