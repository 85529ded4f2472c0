// The raster image formats InternVL Lens takes (probe.ts reads their headers, AttachmentStore
// stores them, the engines send them): the one list, with each format's MIME type and file
// extensions. The webview and package.json's menus use it too (test/unit/one-home.test.ts keeps
// the manifest equal). SVG is not a raster format: it is drawn first (src/capture/svg.ts).

/** In order of preference (the clipboard is asked for them in this order). */
export const IMAGE_FORMATS = ['png', 'jpeg', 'webp', 'bmp', 'gif'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** Each format's MIME type and file extensions; the first extension is the one a stored copy gets. */
export const IMAGE_FORMAT_INFO: Readonly<Record<ImageFormat, { mime: string; extensions: readonly string[] }>> = {
  png: { mime: 'image/png', extensions: ['png'] },
  jpeg: { mime: 'image/jpeg', extensions: ['jpg', 'jpeg'] },
  webp: { mime: 'image/webp', extensions: ['webp'] },
  bmp: { mime: 'image/bmp', extensions: ['bmp'] },
  gif: { mime: 'image/gif', extensions: ['gif'] },
};

/** Every file extension of a raster format, without the dot. */
export const IMAGE_EXTENSIONS: readonly string[] = IMAGE_FORMATS.flatMap((f) => IMAGE_FORMAT_INFO[f].extensions);

/** What *Explain this diagram* opens: the raster formats, and SVG. */
export const EXPLAINABLE_EXTENSIONS: readonly string[] = [...IMAGE_EXTENSIONS, 'svg'];

/** The extension a stored copy of a `format` image gets (no dot). */
export function storedExtension(format: ImageFormat): string {
  return IMAGE_FORMAT_INFO[format].extensions[0]!;
}

/** The format whose MIME type is `mime`, if it is one of ours. */
export function formatOfMime(mime: string): ImageFormat | undefined {
  return IMAGE_FORMATS.find((f) => IMAGE_FORMAT_INFO[f].mime === mime);
}

/** Whether `path` ends in one of `extensions` (any case). */
export function hasExtension(path: string, extensions: readonly string[]): boolean {
  const dot = path.lastIndexOf('.');
  return dot >= 0 && extensions.includes(path.slice(dot + 1).toLowerCase());
}

/** The `when` clause of the Explorer and editor-title menus' *Explain this diagram* (package.json). */
export const EXPLAINABLE_WHEN_CLAUSE = `resourceExtname =~ /^\\.(${EXPLAINABLE_EXTENSIONS.join('|')})$/i`;

/** Videos, read through ffmpeg (src/video/ffmpeg.ts): *Explain this video*. */
export const VIDEO_EXTENSIONS: readonly string[] = ['mp4', 'webm', 'mov', 'mkv'];

/** Animated images, read through sharp (src/video/animated.ts): GIF, animated WebP and APNG. */
export const ANIMATED_IMAGE_EXTENSIONS: readonly string[] = ['gif', 'webp', 'apng'];

/** What *Explain this video* opens: videos and animated images (a PNG may be an APNG too). */
export const MOVING_EXTENSIONS: readonly string[] = [...VIDEO_EXTENSIONS, ...ANIMATED_IMAGE_EXTENSIONS, 'png'];

/** The `when` clause of the Explorer and editor-title menus' *Explain this video* (package.json): not every PNG. */
export const MOVING_WHEN_CLAUSE = `resourceExtname =~ /^\\.(${[...VIDEO_EXTENSIONS, ...ANIMATED_IMAGE_EXTENSIONS].join('|')})$/i`;
