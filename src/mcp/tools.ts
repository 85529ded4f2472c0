// The MCP server's tools as clients see them: names, descriptions, input schemas and output
// schemas (raw JSON Schema). locate and ask_image return the public grounding result, whose schema
// has one home: schemas/grounding-result.v1.json (src/protocol/grounding.ts).
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import groundingSchema from '../../schemas/grounding-result.v1.json';
import { DEFAULT_FRAME_COUNT, frameTokens, MAX_FRAME_COUNT } from '../video/sampling';
import { REFINE_MODES } from '../config';

export const TOOL_NAMES = ['locate', 'ask_image', 'capture_screen', 'capture_window', 'list_monitors'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

const imageInput = {
  type: 'string',
  minLength: 1,
  description: 'Absolute path of a PNG, JPEG, WebP, GIF or BMP file on this machine (for example the path capture_screen returned).',
} as const;

const commonInputs = {
  image: imageInput,
  devicePixelRatio: {
    type: 'number',
    minimum: 0.25,
    maximum: 16,
    description: 'Device pixels per logical pixel of a screen capture (capture_screen returns it as scaleFactor); default 1. Regions stay in image pixels; divide by it for screen points.',
  },
  maxTokens: { type: 'integer', minimum: 1, maximum: 32768, description: 'Most tokens the answer may have (default: the server\'s --max-tokens).' },
} as const;

/** The grounding result schema as an MCP output schema (an object schema at the top, as MCP asks). */
const groundingOutput = groundingSchema as unknown as Tool['outputSchema'];

const monitorSchema = {
  type: 'object',
  required: ['id', 'name', 'x', 'y', 'width', 'height', 'scaleFactor', 'primary'],
  properties: {
    id: { type: 'integer', description: 'Pass it to capture_screen as monitor.' },
    name: { type: 'string' },
    x: { type: 'number', description: 'Position as the OS reports it (logical pixels on macOS, device pixels elsewhere).' },
    y: { type: 'number' },
    width: { type: 'number' },
    height: { type: 'number' },
    scaleFactor: { type: 'number', description: 'Device pixels per logical pixel.' },
    primary: { type: 'boolean' },
  },
} as const;

export const TOOLS: Tool[] = [
  {
    name: 'locate',
    title: 'Locate in image',
    description:
      'Finds a thing on a screenshot or image (a button, a field, an icon, text) with InternVL, running locally. Returns its boxes in the image\'s own pixels ([x1, y1, x2, y2], origin top left), the model\'s answer, and the image with the boxes drawn.',
    inputSchema: {
      type: 'object',
      required: ['image', 'target'],
      properties: {
        ...commonInputs,
        target: { type: 'string', minLength: 1, maxLength: 2000, description: 'What to find, in words, e.g. "the Save button".' },
        refine: {
          oneOf: REFINE_MODES.map((mode) => ({ const: mode })),
          description: "Look again zoomed in around each box found: 'auto' (when the image is shrunk more than 1.5× for the model, as a 4K screen is), 'always' or 'off'. Default: the server's --refine (auto). The result's refinement says what the first pass found and what the second cost.",
        },
      },
      additionalProperties: false,
    },
    outputSchema: groundingOutput,
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  {
    name: 'ask_image',
    title: 'Ask about an image',
    description:
      'Asks InternVL, running locally, a question about an image (what a screenshot shows, what an error dialog says, what a diagram means). Returns the answer and any regions it marked, in the image\'s own pixels.',
    inputSchema: {
      type: 'object',
      required: ['image', 'question'],
      properties: {
        ...commonInputs,
        image: { ...imageInput, description: `${imageInput.description} Or a video (MP4, WebM, MOV, MKV; needs ffmpeg) or an animated GIF, WebP or APNG: then "frames" frames of it are shown, each region says its frame.` },
        question: { type: 'string', minLength: 1, maxLength: 20000, description: 'The question about the image.' },
        frames: { type: 'integer', minimum: 1, maximum: MAX_FRAME_COUNT, description: `A video: how many frames the model sees, evenly spread (default ${DEFAULT_FRAME_COUNT}; ${frameTokens(1)} tokens each).` },
        start: { type: 'number', minimum: 0, description: 'A video: only from this second on.' },
        end: { type: 'number', minimum: 0, description: 'A video: only up to this second.' },
      },
      additionalProperties: false,
    },
    outputSchema: groundingOutput,
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  {
    name: 'capture_screen',
    title: 'Capture the screen',
    description:
      'Takes a screenshot of one monitor (the primary one unless monitor is given; list_monitors lists them) or of all of them, saves it as a PNG on this machine and returns its path, size in device pixels and scale factor, for locate and ask_image.',
    inputSchema: {
      type: 'object',
      properties: {
        monitor: {
          oneOf: [{ type: 'integer', minimum: 0 }, { const: 'all' }],
          description: 'A monitor id from list_monitors, or "all" for every monitor in one image; default: the primary monitor.',
        },
      },
      additionalProperties: false,
    },
    outputSchema: {
      type: 'object',
      required: ['path', 'width', 'height', 'scaleFactor'],
      properties: {
        path: { type: 'string', description: 'The PNG file: pass it to locate or ask_image as image.' },
        width: { type: 'integer', description: 'Device pixels.' },
        height: { type: 'integer' },
        scaleFactor: { type: 'number', description: 'Device pixels per logical pixel: pass it to locate or ask_image as devicePixelRatio.' },
        monitor: monitorSchema,
      },
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  {
    name: 'capture_window',
    title: 'Capture a window',
    description:
      'Takes a screenshot of one window (by id, or the front-most whose title or app name contains title), saves it as a PNG on this machine and returns its path, size in device pixels and scale factor, for locate and ask_image. Without arguments it fails with the list of windows.',
    inputSchema: {
      type: 'object',
      properties: {
        window: { type: 'integer', minimum: 0, description: 'A window id (from this tool\'s list of windows).' },
        title: { type: 'string', minLength: 1, maxLength: 500, description: 'Part of the window\'s title or app name, any case, e.g. "Firefox".' },
      },
      additionalProperties: false,
    },
    outputSchema: {
      type: 'object',
      required: ['path', 'width', 'height', 'scaleFactor', 'window'],
      properties: {
        path: { type: 'string', description: 'The PNG file: pass it to locate or ask_image as image.' },
        width: { type: 'integer', description: 'Device pixels.' },
        height: { type: 'integer' },
        scaleFactor: { type: 'number', description: 'Device pixels per logical pixel: pass it to locate or ask_image as devicePixelRatio.' },
        window: {
          type: 'object',
          required: ['id', 'title', 'appName', 'x', 'y', 'width', 'height'],
          properties: { id: { type: 'integer' }, title: { type: 'string' }, appName: { type: 'string' }, x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } },
        },
      },
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  {
    name: 'list_monitors',
    title: 'List monitors',
    description: 'Lists the monitors capture_screen can capture: id, name, position, size and scale factor.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    outputSchema: { type: 'object', required: ['monitors'], properties: { monitors: { type: 'array', items: monitorSchema } } },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
];

interface PropertySchema {
  type?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  const?: unknown;
  oneOf?: PropertySchema[];
}

/** Why `value` does not fit `schema` (the subset of JSON Schema the input schemas above use), or null. */
function propertyProblem(name: string, value: unknown, schema: PropertySchema): string | null {
  if (schema.oneOf) return schema.oneOf.some((s) => propertyProblem(name, value, s) === null) ? null : `"${name}" must be ${schema.oneOf.map((s) => (s.const !== undefined ? JSON.stringify(s.const) : `a${s.type === 'integer' ? ' whole number' : ` ${s.type}`}`)).join(' or ')}, not ${JSON.stringify(value)}.`;
  if (schema.const !== undefined) return value === schema.const ? null : `"${name}" must be ${JSON.stringify(schema.const)}.`;
  if (schema.type === 'string') {
    if (typeof value !== 'string' || ((schema.minLength ?? 0) > 0 && value.trim() === '')) return `"${name}" must be a non-empty string.`;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return `"${name}" is ${value.length} characters; at most ${schema.maxLength} are accepted.`;
    return null;
  }
  if (schema.type === 'number' || schema.type === 'integer') {
    const whole = schema.type === 'integer';
    const ok = typeof value === 'number' && Number.isFinite(value) && (!whole || Number.isInteger(value)) && value >= (schema.minimum ?? -Infinity) && value <= (schema.maximum ?? Infinity);
    const range = schema.minimum !== undefined && schema.maximum !== undefined ? ` from ${schema.minimum} to ${schema.maximum}` : schema.minimum !== undefined ? ` of at least ${schema.minimum}` : '';
    return ok ? null : `"${name}" must be ${whole ? 'a whole number' : 'a number'}${range}, not ${JSON.stringify(value)}.`;
  }
  return null;
}

/** Why `args` do not fit the tool's input schema, in one sentence, or null when they do. */
export function argumentsProblem(tool: Tool, args: Record<string, unknown>): string | null {
  const properties = (tool.inputSchema.properties ?? {}) as Record<string, PropertySchema>;
  for (const name of tool.inputSchema.required ?? []) {
    if (args[name] === undefined) return `"${name}" is required (${Object.keys(properties).filter((p) => (tool.inputSchema.required ?? []).includes(p)).map((p) => `"${p}"`).join(', ')} are).`;
  }
  for (const [name, value] of Object.entries(args)) {
    const schema = properties[name];
    if (!schema) return `"${name}" is not an argument of ${tool.name}; it takes ${Object.keys(properties).map((p) => `"${p}"`).join(', ') || 'none'}.`;
    const problem = propertyProblem(name, value, schema);
    if (problem) return problem;
  }
  return null;
}
