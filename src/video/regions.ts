// Which frame a region of an answer about a clip is on: the frame the answer named last before it
// (`Frame3: <ref>cat</ref><box>…</box>`, or a box right after `Frame3`); the last frame when none
// was named. Each segment between two names is parsed alone, so the count is checked against the
// whole answer's regions and, should a region straddle a name, everything falls back to the last frame.
import { parseRegions } from '../grounding';

const FRAME_NAME = /\bFrame[\s-]?(\d{1,2})\b/gi;

/** For each of parseRegions(answer)'s regions, in order, the 1-based frame it belongs to. */
export function regionFrames(answer: string, frameCount: number): number[] {
  const total = parseRegions(answer).length;
  const fallback = () => new Array<number>(total).fill(frameCount);
  if (total === 0 || frameCount < 1) return [];
  const out: number[] = [];
  let frame = frameCount;
  let from = 0;
  const take = (to: number) => {
    const n = parseRegions(answer.slice(from, to)).length;
    for (let i = 0; i < n; i++) out.push(frame);
  };
  for (const m of answer.matchAll(FRAME_NAME)) {
    take(m.index);
    const named = Number(m[1]);
    frame = named >= 1 && named <= frameCount ? named : frame;
    from = m.index;
  }
  take(answer.length);
  return out.length === total ? out : fallback();
}
