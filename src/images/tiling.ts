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
