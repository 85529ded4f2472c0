// The language-model tools (src/tools/): their names, what package.json's
// contributes.languageModelTools says about them (kept equal by test/unit/lm-tools.test.ts), the
// JSON Schemas the model fills, and the valibot schemas every input is checked against on arrival
// (the model is untrusted: a bad input gets one sentence saying what to change). No vscode import.
import * as v from 'valibot';
import { REFINE_MODES } from '../config';

export const LM_TOOLS = { locate: 'lens_locate', ask: 'lens_ask', capture: 'lens_capture' } as const;
export type LmToolName = (typeof LM_TOOLS)[keyof typeof LM_TOOLS];

/** The word that names the image most recently captured by lens_capture (else the InternVL Lens chat's latest image). */
export const LATEST_IMAGE = 'latest';
/** Most images one lens_ask takes (each costs up to a few thousand tokens). */
export const MAX_ASK_IMAGES = 4;
export const MAX_TARGET_CHARS = 2000;
export const MAX_QUESTION_CHARS = 20_000;
export const MAX_IMAGE_REF_CHARS = 4096;
const MAX_WINDOW_CHARS = 500;

export const LOCATE_MODES = ['box', 'point', 'all'] as const;
export type LocateMode = (typeof LOCATE_MODES)[number];
export const CAPTURE_SOURCES = ['screen', 'allScreens', 'window', 'region'] as const;
export type CaptureSource = (typeof CAPTURE_SOURCES)[number];

const IMAGE_REF =
  `a PNG, JPEG, WebP, GIF or BMP image: a path relative to the workspace folder, an absolute path, a file: URI, or "${LATEST_IMAGE}" (the default) for the image lens_capture took last (else the InternVL Lens chat's latest image)`;

const CLIP_REF = 'A video (MP4, WebM, MOV, MKV) or an animated GIF, WebP or APNG, given alone, is asked about as 8 of its frames (InternVL\'s video prompt): the result then lists the frames and each region says its frame.';

/** The input schemas as the model sees them (package.json holds the same objects). */
export const LM_TOOL_INPUT_SCHEMAS = {
  [LM_TOOLS.locate]: {
    type: 'object',
    required: ['target'],
    additionalProperties: false,
    properties: {
      target: { type: 'string', maxLength: MAX_TARGET_CHARS, description: 'What to find, in words, e.g. "the Save button" or "the search field".' },
      image: { type: 'string', maxLength: MAX_IMAGE_REF_CHARS, description: `The image to look in: ${IMAGE_REF}.` },
      mode: {
        type: 'string',
        enum: [...LOCATE_MODES],
        description: '"box" (default): its bounding box; "point": one point to click; "all": a box for every instance.',
      },
      refine: {
        type: 'string',
        enum: [...REFINE_MODES],
        description: '"auto" (default: the user\'s internvlLens.grounding.refine setting): look again zoomed in around each box when the image is shrunk for the model (a 4K screen is); "always"; "off".',
      },
    },
  },
  [LM_TOOLS.ask]: {
    type: 'object',
    required: ['question'],
    additionalProperties: false,
    properties: {
      question: { type: 'string', maxLength: MAX_QUESTION_CHARS, description: 'The question about the image(s), e.g. "What does the error dialog say?".' },
      images: {
        type: 'array',
        items: { type: 'string', maxLength: MAX_IMAGE_REF_CHARS },
        minItems: 1,
        maxItems: MAX_ASK_IMAGES,
        description: `One to ${MAX_ASK_IMAGES} images, each ${IMAGE_REF}; default ["${LATEST_IMAGE}"]. Regions in the answer are in the last image's pixels. ${CLIP_REF}`,
      },
    },
  },
  [LM_TOOLS.capture]: {
    type: 'object',
    additionalProperties: false,
    properties: {
      source: {
        type: 'string',
        enum: [...CAPTURE_SOURCES],
        description: '"screen" (default): one monitor (the primary unless monitor is given); "allScreens": every monitor in one image; "window": one window (by window); "region": a rectangle of one monitor (region, else the user draws it).',
      },
      monitor: { type: 'integer', minimum: 0, description: 'A monitor id, for "screen" and "region"; default: the primary monitor.' },
      window: { type: 'string', maxLength: MAX_WINDOW_CHARS, description: 'For "window": part of the window\'s title or app name, any case, e.g. "Firefox".' },
      region: {
        type: 'object',
        required: ['x', 'y', 'width', 'height'],
        additionalProperties: false,
        properties: {
          x: { type: 'integer', minimum: 0 },
          y: { type: 'integer', minimum: 0 },
          width: { type: 'integer', minimum: 1 },
          height: { type: 'integer', minimum: 1 },
        },
        description: 'For "region": the rectangle in the monitor\'s device pixels, origin top left.',
      },
    },
  },
} as const;

/** package.json's contributes.languageModelTools, entry for entry (test/unit/lm-tools.test.ts). */
export const LM_TOOL_CONTRIBUTIONS = [
  {
    name: LM_TOOLS.locate,
    toolReferenceName: 'lensLocate',
    displayName: 'Locate in Image (InternVL Lens)',
    userDescription: 'Find a button, field, icon or text on a screenshot or image; returns its box in the image\'s pixels and the image with the box drawn.',
    modelDescription:
      'Finds a thing on a screenshot or image (a button, a field, an icon, a line of text) with the InternVL vision model running locally in VS Code. Returns JSON in the internvl-lens/grounding-result/v1 schema: regions as boxes [x1, y1, x2, y2] (or points [x, y]) in the image\'s original pixels, origin top left, the model\'s answer, and annotatedImage: the path of a PNG with the regions drawn. Use lens_capture first to get a screenshot.',
    canBeReferencedInPrompt: true,
    icon: '$(target)',
    tags: ['vision', 'image', 'grounding', 'screenshot'],
    inputSchema: LM_TOOL_INPUT_SCHEMAS[LM_TOOLS.locate],
  },
  {
    name: LM_TOOLS.ask,
    toolReferenceName: 'lensAsk',
    displayName: 'Ask About Image (InternVL Lens)',
    userDescription: 'Ask the local InternVL model a question about one or more images.',
    modelDescription:
      'Asks the InternVL vision model, running locally in VS Code, a question about one to four images (what a screenshot shows, what an error dialog says, what a diagram means). Returns JSON in the internvl-lens/grounding-result/v1 schema: the answer and any regions it marked, in the last image\'s original pixels.',
    canBeReferencedInPrompt: true,
    icon: '$(eye)',
    tags: ['vision', 'image', 'screenshot'],
    inputSchema: LM_TOOL_INPUT_SCHEMAS[LM_TOOLS.ask],
  },
  {
    name: LM_TOOLS.capture,
    toolReferenceName: 'lensCapture',
    displayName: 'Capture Screen (InternVL Lens)',
    userDescription: 'Take a screenshot of a monitor, all monitors, a window or a region (asks you first).',
    modelDescription:
      'Takes a screenshot (the user is asked to allow it first): one monitor, all monitors, one window, or a rectangle of a monitor. Saves it as a PNG and returns JSON { path, width, height, scaleFactor, source } (size in device pixels; scaleFactor: device pixels per logical pixel). Pass path (or "latest") to lens_locate or lens_ask as image.',
    canBeReferencedInPrompt: true,
    icon: '$(device-camera)',
    tags: ['vision', 'screenshot'],
    inputSchema: LM_TOOL_INPUT_SCHEMAS[LM_TOOLS.capture],
  },
] as const;

/** What lens_capture returns (as JSON in a text part). */
export interface CaptureToolResult {
  /** The PNG: pass it to lens_locate or lens_ask as image. */
  path: string;
  /** Device pixels. */
  width: number;
  height: number;
  /** Device pixels per logical pixel. */
  scaleFactor: number;
  source: CaptureSource;
  /** The monitor captured ("screen", "region"), or the window ("window"). */
  monitor?: { id: number; name: string };
  window?: { id: number; title: string; appName: string };
}

const text = (name: string, max: number, what: string) =>
  v.pipe(v.string(`"${name}" must be a string: ${what}.`), v.trim(), v.nonEmpty(`"${name}" is empty: give ${what}.`), v.maxLength(max, `"${name}" is at most ${max} characters.`));

const ImageRef = text('image', MAX_IMAGE_REF_CHARS, `a path, a file: URI or "${LATEST_IMAGE}"`);

export const LocateInput = v.object({
  target: text('target', MAX_TARGET_CHARS, 'what to find, e.g. "the Save button"'),
  image: v.optional(ImageRef, LATEST_IMAGE),
  mode: v.optional(v.picklist(LOCATE_MODES, `"mode" must be one of ${LOCATE_MODES.map((m) => `"${m}"`).join(', ')}.`), 'box'),
  refine: v.optional(v.picklist(REFINE_MODES, `"refine" must be one of ${REFINE_MODES.map((m) => `"${m}"`).join(', ')}.`)),
});
export type LocateInput = v.InferOutput<typeof LocateInput>;

export const AskInput = v.object({
  question: text('question', MAX_QUESTION_CHARS, 'a question about the image'),
  images: v.optional(
    v.pipe(
      // One image given as a string is taken as a list of one (models write either).
      v.union([v.pipe(ImageRef, v.transform((s) => [s])), v.array(ImageRef)], '"images" must be a list of image references, e.g. ["screenshot.png"].'),
      v.minLength(1, '"images" is empty: give at least one image, or leave it out for the latest.'),
      v.maxLength(MAX_ASK_IMAGES, `"images" has more than ${MAX_ASK_IMAGES} images; ask about at most ${MAX_ASK_IMAGES} at once.`),
    ),
    [LATEST_IMAGE],
  ),
});
export type AskInput = v.InferOutput<typeof AskInput>;

/** A whole number of device pixels (the bounds PixelRect has: src/protocol/rect.ts). */
const whole = (name: string, min: number) =>
  v.pipe(v.number(`"${name}" must be a whole number.`), v.integer(`"${name}" must be a whole number.`), v.minValue(min, `"${name}" must be at least ${min}.`), v.maxValue(1_000_000, `"${name}" is at most 1000000.`));

export const CaptureInput = v.pipe(
  v.object({
    source: v.optional(v.picklist(CAPTURE_SOURCES, `"source" must be one of ${CAPTURE_SOURCES.map((s) => `"${s}"`).join(', ')}.`), 'screen'),
    monitor: v.optional(v.pipe(v.number('"monitor" must be a monitor id (a whole number).'), v.integer('"monitor" must be a whole number.'), v.minValue(0, '"monitor" must be at least 0.'), v.maxValue(2 ** 32, '"monitor" is not a monitor id.'))),
    window: v.optional(text('window', MAX_WINDOW_CHARS, 'part of the window\'s title or app name')),
    region: v.optional(
      v.strictObject(
        { x: whole('region.x', 0), y: whole('region.y', 0), width: whole('region.width', 1), height: whole('region.height', 1) },
        '"region" must be { x, y, width, height }: whole device pixels, nothing else.',
      ),
    ),
  }),
  v.check((i) => i.source === 'window' || i.window === undefined, '"window" is only for source "window".'),
  v.check((i) => i.source !== 'window' || i.window !== undefined, 'source "window" needs "window": part of the window\'s title or app name.'),
  v.check((i) => i.source === 'region' || i.region === undefined, '"region" is only for source "region".'),
  v.check((i) => i.source === 'screen' || i.source === 'region' || i.monitor === undefined, '"monitor" is only for source "screen" or "region".'),
);
export type CaptureInput = v.InferOutput<typeof CaptureInput>;

/** An input the tool cannot take; its message is one sentence for the model (and the user) to act on. */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

const INPUTS = { [LM_TOOLS.locate]: LocateInput, [LM_TOOLS.ask]: AskInput, [LM_TOOLS.capture]: CaptureInput } as const;
export type LmToolInput<N extends LmToolName> = v.InferOutput<(typeof INPUTS)[N]>;

/** Longest piece of a bad input quoted back. */
const QUOTED = 60;

function shown(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value.slice(0, QUOTED + 1)) : (JSON.stringify(value)?.slice(0, QUOTED + 1) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > QUOTED ? `${s.slice(0, QUOTED)}…` : s;
}

/** The input checked against the tool's schema; a ToolInputError with the first problem otherwise. */
export function parseToolInput<N extends LmToolName>(tool: N, input: unknown): LmToolInput<N> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ToolInputError(`${tool} takes an object of arguments, not ${shown(input)}.`);
  const properties = LM_TOOL_INPUT_SCHEMAS[tool].properties as Record<string, { description?: string }>;
  const known = Object.keys(properties);
  const unknown = Object.keys(input).filter((k) => !Object.hasOwn(properties, k));
  if (unknown.length > 0) throw new ToolInputError(`${tool} has no argument ${unknown.slice(0, 3).map(shown).join(', ')}; it takes ${known.map((k) => `"${k}"`).join(', ')}.`);
  const result = v.safeParse(INPUTS[tool] as v.GenericSchema<unknown, LmToolInput<N>>, input);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = v.getDotPath(issue);
  if (issue.kind === 'schema' && issue.input === undefined && field !== null && Object.hasOwn(properties, field)) {
    throw new ToolInputError(`${tool} needs "${field}": ${properties[field]!.description ?? 'it is required.'}`);
  }
  throw new ToolInputError(`${tool}: ${issue.message}`);
}
