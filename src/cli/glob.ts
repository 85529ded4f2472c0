// File arguments that may be globs (`shots/*.png`, `**/*.jpg`), for shells that do not expand them
// (Windows) and lists too long for a command line. `*` and `?` match within one path segment, `[abc]`
// one of the characters, `**` any number of folders. Bounded: at most `maxFiles` matches, symbolic
// links to folders are not followed by `**`, hidden entries match only patterns that start with `.`.
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';

const WILDCARD = /[*?[]/;

export class GlobError extends Error {}

function segmentPattern(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/\\\\]*';
    else if (c === '?') re += '[^/\\\\]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = segment.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, process.platform === 'win32' ? 'i' : '');
}

/** Whether an argument is a glob (has `*`, `?` or `[`). */
export function isGlob(arg: string): boolean {
  return WILDCARD.test(arg);
}

/** The files a glob matches, sorted; `cwd` resolves a relative pattern. */
export async function expandGlob(pattern: string, cwd: string, maxFiles: number): Promise<string[]> {
  const absolute = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  const parts = absolute.split(/[/\\]+/);
  // The part before the first wildcard is a plain folder.
  const first = parts.findIndex((p) => WILDCARD.test(p));
  const base = parts.slice(0, first).join(sep) || sep;
  const rest = parts.slice(first);
  const found = new Set<string>();
  const walk = async (dir: string, i: number): Promise<void> => {
    if (found.size > maxFiles || i >= rest.length) return;
    const segment = rest[i]!;
    const last = i === rest.length - 1;
    if (segment === '**') {
      // Zero folders, then each sub-folder in turn.
      await walk(dir, i + 1);
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await walk(join(dir, e.name), i);
      return;
    }
    if (!WILDCARD.test(segment)) {
      const path = join(dir, segment);
      if (last) {
        if ((await stat(path).catch(() => null))?.isFile()) found.add(path);
      } else await walk(path, i + 1);
      return;
    }
    const re = segmentPattern(segment);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!re.test(e.name) || (e.name.startsWith('.') && !segment.startsWith('.'))) continue;
      const path = join(dir, e.name);
      if (last) {
        if (e.isFile() || (e.isSymbolicLink() && (await stat(path).catch(() => null))?.isFile())) found.add(path);
      } else if (e.isDirectory()) await walk(path, i + 1);
    }
  };
  await walk(base, 0);
  if (found.size > maxFiles) throw new GlobError(`${pattern} matches more than ${maxFiles} files; split the run into smaller ones.`);
  return [...found].sort();
}
