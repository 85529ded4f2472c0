// InternVL's reference tiling (the model card's `dynamic_preprocess`): the grid of 448-px tiles
// an image is stretched onto, plus a thumbnail when there is more than one tile. llama.cpp picks
// its grid differently and letterboxes with black bars, but tiles an image that is already
// exactly cols·448 × rows·448 on that grid, so we resize to this grid before any engine sees it.

/** The side of one InternVL tile, in pixels. */
export const TILE_SIZE = 448;
/** Image tokens per tile (and per thumbnail) after InternVL's pixel shuffle. */
export const TOKENS_PER_TILE = 256;
/** Tokens that wrap each image: `<img>` and `</img>`. */
export const IMAGE_MARKER_TOKENS = 2;
/** InternVL3's default and largest tile budget. */
export const MAX_TILES = 12;

/** A tile limit as a setting or an option gives it, made a whole number from 1 to MAX_TILES. */
export function clampMaxTiles(n: number): number {
  return Math.min(MAX_TILES, Math.max(1, Math.round(Number.isFinite(n) ? n : MAX_TILES)));
}

export interface TileGrid {
  cols: number;
  rows: number;
  /** A whole-image thumbnail tile follows the grid when it has more than one tile. */
  thumbnail: boolean;
}

/**
 * The grid InternVL's `find_closest_aspect_ratio` picks: the aspect ratio closest to the image's;
 * on a tie the larger grid wins when the image covers more than half of its pixels.
 * Candidates go in order of tile count; among grids with the same count the reference iterates a
 * Python set, whose order only matters for exact midpoints with minTiles > 1 (never with 1).
 */
export function referenceGrid(width: number, height: number, minTiles = 1, maxTiles = MAX_TILES): TileGrid {
  if (!(width > 0 && height > 0)) throw new RangeError(`image size must be positive, got ${width}×${height}`);
  if (!Number.isInteger(minTiles) || !Number.isInteger(maxTiles) || minTiles < 1 || maxTiles < minTiles) {
    throw new RangeError(`tile limits must be integers with 1 ≤ min ≤ max, got ${minTiles}..${maxTiles}`);
  }
  const candidates: [number, number][] = [];
  for (let cols = 1; cols <= maxTiles; cols++) {
    for (let rows = 1; cols * rows <= maxTiles; rows++) if (cols * rows >= minTiles) candidates.push([cols, rows]);
  }
  candidates.sort((a, b) => a[0] * a[1] - b[0] * b[1]);
  const aspect = width / height;
  const area = width * height;
  let best: [number, number] = [1, 1];
  let bestDiff = Infinity;
  for (const [cols, rows] of candidates) {
    const diff = Math.abs(aspect - cols / rows);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = [cols, rows];
    } else if (diff === bestDiff && area > 0.5 * TILE_SIZE * TILE_SIZE * cols * rows) {
      best = [cols, rows];
    }
  }
  const [cols, rows] = best;
  return { cols, rows, thumbnail: cols * rows > 1 };
}

/** Tiles the model encodes for `grid`, thumbnail included. */
export function tileCount(grid: TileGrid): number {
  return grid.cols * grid.rows + (grid.thumbnail ? 1 : 0);
}

/** Context tokens one image costs on `grid`: 256 per tile plus the `<img>`/`</img>` markers. */
export function imageTokenCount(grid: TileGrid): number {
  return tileCount(grid) * TOKENS_PER_TILE + IMAGE_MARKER_TOKENS;
}

/** The pixel size an image must have so that llama.cpp tiles it on `grid`. */
export function gridPixelSize(grid: TileGrid): { width: number; height: number } {
  return { width: grid.cols * TILE_SIZE, height: grid.rows * TILE_SIZE };
}

/** Text about this many pixels high after the grid's resize is about the smallest the model reads (shrunk 2.1×: ~9 original px). */
export const LEGIBLE_TEXT_MODEL_PX = 4.3;
/** What a whole 1920×1080 screen costs on the default grid: the yardstick an enlarged small image is held to. */
export const SCREEN_YARDSTICK = { width: 1920, height: 1080 } as const;

/** What the model saw of an image: how its grid resized it, and what each part costs. For the chat's "What the model saw". */
export interface ModelSight {
  /** Original pixels per model pixel on the more shrunk side: > 1 shrunk, < 1 enlarged. */
  shrink: number;
  /** One line: the resize and what it means. */
  summary: string;
  /** The cost per part: tiles, thumbnail, markers. */
  parts: string;
  /** An enlarged image costs more than a whole screen would: fewer tiles lose nothing. */
  costlyForSize: boolean;
}

const times = (n: number) => `${n.toFixed(1)}×`;
const count = (n: number) => n.toLocaleString('en').replace(/,/g, '\u202f');

/** `width`×`height`: the part of the image the model saw (after any crop), on `grid`. */
export function modelSight(width: number, height: number, grid: TileGrid): ModelSight {
  const model = gridPixelSize(grid);
  const shrink = Math.max(width / model.width, height / model.height);
  const tokens = imageTokenCount(grid);
  const tiles = grid.cols * grid.rows;
  const parts = `${grid.cols}×${grid.rows} tile${tiles === 1 ? '' : 's'} × ${TOKENS_PER_TILE}${grid.thumbnail ? ` + thumbnail ${TOKENS_PER_TILE}` : ''} + ${IMAGE_MARKER_TOKENS} = ${count(tokens)} tokens`;
  const screen = imageTokenCount(referenceGrid(SCREEN_YARDSTICK.width, SCREEN_YARDSTICK.height));
  const costlyForSize = shrink < 1 && tokens > screen;
  let summary: string;
  if (shrink > 1.05) summary = `shrunk ${times(shrink)}: text under ~${Math.round(LEGIBLE_TEXT_MODEL_PX * shrink)} px may be unreadable`;
  else if (shrink < 0.95) {
    summary = `enlarged ${times(1 / shrink)} to ${tileCount(grid)} tiles`;
    if (costlyForSize) summary += `: ${count(tokens)} tokens, more than a whole ${SCREEN_YARDSTICK.width}×${SCREEN_YARDSTICK.height} screen (${count(screen)}); fewer tiles lose no detail`;
  } else summary = 'seen at about its own size';
  return { shrink, summary, parts, costlyForSize };
}
