// Types of tar.mjs.
export interface TarEntry {
  name: string;
  /** '0' file, '2' symlink, '1' hard link, '5' directory, '3' character device, 'x' pax header, 'L' GNU long name. */
  type?: string;
  body?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** Write this in the size field instead of the body's length (a lying header). */
  claimedSize?: number;
}
export declare function tarHeader(entry: TarEntry): Buffer;
export declare function tar(entries: readonly TarEntry[]): Buffer;
