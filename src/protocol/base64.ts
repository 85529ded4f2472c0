// Base64 payloads crossing a boundary (pasted images, rendered diagrams, inline SVG images),
// checked in one linear pass. Not valibot's v.base64(): its regular expression repeats a group per
// four characters and overflows the stack on a few megabytes (a screenshot, a large diagram).
import * as v from 'valibot';

/** Whether `s` is padded base64 (RFC 4648, standard alphabet). */
export function isBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

/** A base64 string of at most `maxLength` characters. */
export function Base64(maxLength: number) {
  return v.pipe(v.string(), v.maxLength(maxLength), v.check(isBase64, 'not base64'));
}
