// A conversation as data: what Conversation (conversation.ts) keeps in memory and the HistoryStore
// (history.ts) writes to disk and reads back. Both import it; neither imports the other.
import type { Region } from '../grounding';
import { bestRegions } from '../images/refine';
import type { UserError } from '../protocol/remedy';
import type { Attachment } from './attachments';

/** Where a turn is: waiting its turn, answering, or ended (done, stopped by the user, failed). */
export type TurnStatus = 'queued' | 'streaming' | 'done' | 'stopped' | 'error';

export interface TurnRecord {
  id: string;
  /** The question as the chat shows it. */
  question: string;
  /** What the model is asked, when a preset wrapped the question in a grounding prompt. */
  prompt: string | null;
  images: Attachment[];
  /** The image the answer's regions refer to: the latest image shown to the model. */
  target: Attachment | null;
  answer: string;
  status: TurnStatus;
  regions: Region[];
  /** A locate preset asked this: a zoom-in refine may follow the answer (src/images/refine.ts). */
  refine?: boolean;
  /** Per region, the refined one a zoom-in pass found (null: none); absent when no refine ran. */
  refined?: (Region | null)[];
  /** Why the turn failed and what fixes it: shown inline and as a notification, stored whole. */
  error: UserError | null;
  stats: string | null;
  /**
   * The turn's images are a clip's frames, in order (src/video/): where each is in the clip. A
   * follow-up about a clip (no images of its own) carries the clip too, its frames in `clipFrames`.
   */
  clip?: ClipRecord;
  /** A follow-up about a clip: that clip's frames (an earlier turn's images), which its regions are drawn on; never sent again. */
  clipFrames?: Attachment[];
}

/** A clip a turn asks about: its images are these frames, one each, `Frame1:` first. */
export interface ClipRecord {
  name: string;
  fps: number;
  frameCount: number;
  /** Seconds. */
  duration: number;
  frames: { number: number; index: number; seconds: number }[];
  /** For each of the turn's regions (same order), the frame it was named with; set when the answer ends. */
  regionFrames?: number[];
}

/** A conversation: its turns and what the history lists it by. */
export interface ConversationData {
  id: string;
  title: string;
  created: number;
  updated: number;
  turns: TurnRecord[];
}


/** The regions a turn shows and exports: the refined one where a zoom-in pass found it, else the answer's. */
/** The image region `index` of a turn lies on: in a clip turn the frame the answer named, else the turn's target. */
export function regionImage(t: Pick<TurnRecord, 'clip' | 'clipFrames' | 'images' | 'target'>, index: number): Attachment | null {
  if (!t.clip) return t.target;
  const frames = clipFrames(t);
  return frames[(t.clip.regionFrames?.[index] ?? frames.length) - 1] ?? t.target;
}

/** A clip turn's frames: its own images, or, in a follow-up about a clip, that clip's. */
export function clipFrames(t: Pick<TurnRecord, 'clipFrames' | 'images'>): Attachment[] {
  return t.images.length > 0 ? t.images : (t.clipFrames ?? []);
}

export function shownRegions(t: Pick<TurnRecord, 'regions' | 'refined'>): Region[] {
  return bestRegions(t.regions, t.refined);
}
