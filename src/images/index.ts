export { probeImage, ImageError, type ImageInfo } from './probe';
export { IMAGE_EXTENSIONS, IMAGE_FORMATS, type ImageFormat } from './formats';
export { referenceGrid, tileCount, imageTokenCount, gridPixelSize, TILE_SIZE, TOKENS_PER_TILE, MAX_TILES, type TileGrid } from './tiling';
export * from './transform';
export { loadSharp, modelCopiesSettled, modelCopyPath, modelCopyReady, prepareForModel, type PreparedImage, type RawPixels, writeInBackground } from './prepare';
export { renderAnnotated, annotationSvg } from './annotate';
