// An SVG rebuilt from what it draws, never passed through. The file is parsed as XML (saxes: a
// strict, streaming parser that expands no entity beyond XML's five and fetches nothing), and only
// allow-listed SVG elements and attributes are written out again, by this code, with values that
// match what each attribute may hold. Namespaces are resolved by URI, not by prefix (so `q:href`
// bound to XLink is XLink's href); references may only point inside the document (`#id`, or an
// inline raster image); CSS is parsed, its escapes decoded before it is checked, and rewritten
// from allow-listed properties. The cost of drawing is bounded before librsvg sees the file:
// elements, depth, <use> elements, and the elements drawn once every reference is expanded (a
// <use> of a group of <use>s multiplies).
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { isBase64 } from '../protocol/base64';
import { ImageError, probeImage } from '../images/probe';
import { MAX_CAPTURE_PIXELS } from './capture';

export const SVG_LIMITS = {
  /** Elements in the file, whether kept or not. */
  elements: 100_000,
  /** Nesting depth. */
  depth: 200,
  /** <use> elements. */
  uses: 10_000,
  /** Elements drawn once every <use> and url(#…) reference is expanded. */
  drawn: 100_000,
  /** Characters of all <style> text together. */
  styleChars: 1_000_000,
};

const SVG_NS = 'http://www.w3.org/2000/svg';
const XLINK_NS = 'http://www.w3.org/1999/xlink';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** Elements kept (with their allow-listed attributes); any other element is dropped with everything inside it. */
const ELEMENTS = new Set([
  'svg', 'g', 'defs', 'symbol', 'use', 'switch', 'a',
  'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon',
  'text', 'tspan', 'textPath', 'image',
  'linearGradient', 'radialGradient', 'stop', 'pattern', 'clipPath', 'mask', 'marker', 'style',
]);
/** Elements whose text is drawn (or, for <style>, parsed as CSS). */
const TEXT_ELEMENTS = new Set(['text', 'tspan', 'textPath', 'style']);
/** Elements that may carry href, and what it may point at. */
const HREF_ELEMENTS = new Set(['use', 'image', 'textPath', 'linearGradient', 'radialGradient', 'pattern']);

type Check = (value: string) => string | null;

const within = (re: RegExp, max = 10_000): Check => (v) => (v.length <= max && re.test(v) ? v.trim() : null);
/** Numbers, lengths, lists and the keywords some of them take (auto, userSpaceOnUse). */
// Point lists and path data are as long as the drawing is detailed: the file's size bounds them.
const lengths = within(/^[-+0-9.eE,\s%a-zA-Z]*$/, Infinity);
const pathData = within(/^[-+0-9.eE,\sMmZzLlHhVvCcSsQqTtAa]*$/, Infinity);
const keywords = within(/^[a-zA-Z\s,-]*$/, 1000);
const TRANSFORM_FUNCTION = /(?:matrix|translate|scale|rotate|skewX|skewY)\s*\([-+0-9.eE,\s]*\)/g;
/** A list of transform functions: each removed in one pass, nothing but separators may remain. */
const transform: Check = (v) => (v.length <= 100_000 && /^[\s,]*$/.test(v.replace(TRANSFORM_FUNCTION, '')) ? v.trim() : null);
/** Letters, digits and the punctuation ids are made of: nothing that means something in CSS or a URL. */
const ID = /^[\p{L}\p{N}_.:-]{1,1000}$/u;

/** Geometry and structure attributes: not CSS, each with the grammar it may hold. */
const ATTRIBUTES: Record<string, Check> = {
  ...Object.fromEntries(
    ['x', 'y', 'width', 'height', 'rx', 'ry', 'cx', 'cy', 'r', 'fx', 'fy', 'fr', 'x1', 'y1', 'x2', 'y2', 'dx', 'dy', 'rotate', 'textLength', 'offset', 'refX', 'refY', 'markerWidth', 'markerHeight', 'startOffset', 'pathLength', 'points', 'viewBox', 'orient'].map((a) => [a, lengths]),
  ),
  ...Object.fromEntries(
    ['preserveAspectRatio', 'gradientUnits', 'patternUnits', 'patternContentUnits', 'clipPathUnits', 'maskUnits', 'maskContentUnits', 'markerUnits', 'spreadMethod', 'lengthAdjust', 'method', 'spacing', 'side', 'systemLanguage'].map((a) => [a, keywords]),
  ),
  d: pathData,
  transform,
  gradientTransform: transform,
  patternTransform: transform,
  class: within(/^[\w\s-]*$/, 1000),
  'xml:space': within(/^(default|preserve)$/),
};

/** CSS properties kept, as presentation attributes, in style attributes and in <style> rules. */
const PROPERTIES = new Set([
  'fill', 'fill-opacity', 'fill-rule', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-dasharray', 'stroke-dashoffset',
  'stroke-linecap', 'stroke-linejoin', 'stroke-miterlimit', 'opacity', 'color', 'display', 'visibility', 'clip-path', 'clip-rule',
  'mask', 'marker-start', 'marker-end', 'font', 'font-family', 'font-size', 'font-weight', 'font-style', 'font-variant',
  'font-stretch', 'text-anchor', 'dominant-baseline', 'alignment-baseline', 'baseline-shift', 'letter-spacing', 'word-spacing',
  'text-decoration', 'writing-mode', 'direction', 'unicode-bidi', 'stop-color', 'stop-opacity', 'overflow', 'paint-order',
  'vector-effect', 'shape-rendering', 'text-rendering', 'image-rendering', 'color-interpolation', 'color-rendering',
  'mix-blend-mode', 'isolation', 'white-space',
]);
/** Properties that may refer to another element (`url(#id)`), and so draw it again. */
const REFERENCING = new Set(['fill', 'stroke', 'clip-path', 'mask', 'marker-start', 'marker-end']);
/** CSS functions a value may call (url() only where REFERENCING allows it). */
const FUNCTIONS = new Set(['rgb', 'rgba', 'hsl', 'hsla']);

/** CSS with its escapes decoded (`\75rl(` is `url(`), so that what is checked is what librsvg would read. */
export function decodeCssEscapes(s: string): string {
  return s.replace(/\\(?:([0-9a-fA-F]{1,6})\s?|([\s\S])|$)/g, (_all, hex: string | undefined, char: string | undefined) => {
    if (hex) {
      const cp = Number.parseInt(hex, 16);
      return cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? '\ufffd' : String.fromCodePoint(cp);
    }
    return char === '\n' || char === undefined ? '' : char;
  });
}

const URL_REF = /^url\(\s*(["']?)#([^"'()\s\\]+)\1\s*\)\s*(.*)$/is;

/**
 * One CSS property value, decoded and checked, as it is written out; null drops it. A reference
 * (`url(#id)`) is allowed only where `refs` is given, and its id is added to it.
 */
function cleanValue(property: string, raw: string, refs: string[] | null): string | null {
  let value = (raw.includes('\\') ? decodeCssEscapes(raw) : raw).trim();
  if (value.length > 2000) return null;
  const important = /!\s*important$/i.exec(value);
  if (important) value = value.slice(0, important.index).trim();
  let ref = '';
  if (REFERENCING.has(property) && refs) {
    const m = URL_REF.exec(value);
    if (m) {
      if (!ID.test(m[2]!)) return null;
      ref = `url(#${m[2]!})`;
      refs.push(m[2]!);
      value = m[3]!.trim();
    }
  }
  if (!/^[\w\s#%.,+\-"'()/]*$/.test(value)) return null;
  // An unclosed string would swallow the declarations written after it.
  if (/["']/.test(value) && ((value.split('"').length - 1) % 2 !== 0 || (value.split("'").length - 1) % 2 !== 0)) return null;
  if (value.includes('(')) for (const m of value.matchAll(/([\w-]*)\s*\(/g)) if (!FUNCTIONS.has(m[1]!.toLowerCase())) return null;
  const out = [ref, value].filter(Boolean).join(' ');
  return out ? out + (important ? ' !important' : '') : null;
}

/** Splits CSS declarations on `;` outside quotes and parentheses. */
function declarations(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let start = 0;
  let quote = '';
  let depth = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if ((c === ';' && depth === 0) || c === undefined) {
      const decl = text.slice(start, i);
      const colon = decl.indexOf(':');
      if (colon > 0) out.push([decodeCssEscapes(decl.slice(0, colon)).trim().toLowerCase(), decl.slice(colon + 1)]);
      start = i + 1;
    }
  }
  return out;
}

/** A style attribute or rule body, rewritten from its allow-listed declarations. */
function cleanDeclarations(text: string, refs: string[] | null): string {
  const kept: string[] = [];
  for (const [property, raw] of declarations(text)) {
    if (!PROPERTIES.has(property)) continue;
    const value = cleanValue(property, raw, refs);
    if (value !== null) kept.push(`${property}:${value}`);
  }
  return kept.join(';');
}

/** Selectors of types, classes, ids, combinators and simple pseudo-classes; no escapes, no functions. */
const SELECTOR = /^[\w\s#.,>+~*:-]{1,1000}$/;

/**
 * A <style> sheet rewritten rule by rule: at-rules (@import, @font-face, @media …) and rules whose
 * selector is not plain are dropped; declarations are allow-listed, and may not refer to other
 * elements (a rule can match any number of them, which would make its cost unbounded).
 */
export function cleanStylesheet(css: string): string {
  const rules: string[] = [];
  let i = 0;
  const n = css.length;
  /** Index after the block that starts at `open` (a `{`), skipping strings, comments and nested blocks. */
  const skipBlock = (open: number): number => {
    let depth = 0;
    for (let j = open; j < n; j++) {
      const c = css[j];
      if (c === '\\') j++;
      else if (c === '"' || c === "'") {
        for (j++; j < n && css[j] !== c; j++) if (css[j] === '\\') j++;
      } else if (c === '/' && css[j + 1] === '*') {
        const end = css.indexOf('*/', j + 2);
        j = end < 0 ? n : end + 1;
      } else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) return j + 1;
    }
    return n;
  };
  while (i < n) {
    // Up to the next `{` or `;` at this level (comments are whitespace).
    let j = i;
    let prelude = '';
    for (; j < n && css[j] !== '{' && css[j] !== ';' && css[j] !== '}'; j++) {
      if (css[j] === '/' && css[j + 1] === '*') {
        const end = css.indexOf('*/', j + 2);
        j = end < 0 ? n : end + 1;
        prelude += ' ';
      } else prelude += css[j];
    }
    if (j >= n) break;
    if (css[j] !== '{') {
      i = j + 1;
      continue;
    }
    const end = skipBlock(j);
    const selector = prelude.trim();
    const body = css.slice(j + 1, end - 1);
    if (!selector.startsWith('@') && SELECTOR.test(selector) && !body.includes('{')) {
      const kept = cleanDeclarations(body.replace(/\/\*[^*]*\*+(?:[^/*][^*]*\*+)*\//g, ' '), null);
      if (kept) rules.push(`${selector.replace(/\s+/g, ' ')}{${kept}}`);
    }
    i = end;
  }
  return rules.join('');
}

interface Element {
  name: string;
  attributes: Array<[string, string]>;
  children: Array<Element | string>;
  /** Ids this element draws again: a <use>'s or gradient's href, url(#…) in its paint, clip, mask or markers. */
  refs: string[];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
// One pass each, and none over values that need none (path data runs to megabytes).
const escapeAttribute = (s: string) => (/[&<>"]/.test(s) ? s.replace(/[&<>"]/g, (c) => ESCAPES[c]!) : s);
const escapeText = (s: string) => (/[&<>]/.test(s) ? s.replace(/[&<>]/g, (c) => ESCAPES[c]!) : s);

/** An inline raster image (data: URL, base64) whose header says it is no larger than a capture may be; null otherwise. */
function inlineImage(href: string): string | null {
  const m = /^data:image\/(png|jpeg|gif|webp);base64,([\s\S]*)$/i.exec(href.trim());
  if (!m) return null;
  const data = m[2]!.replace(/\s+/g, '');
  if (!isBase64(data)) return null;
  try {
    const info = probeImage(Buffer.from(data.slice(0, 87_384), 'base64'));
    if (info.width * info.height > MAX_CAPTURE_PIXELS) return null;
  } catch {
    return null;
  }
  return `data:image/${m[1]!.toLowerCase()};base64,${data}`;
}

/** The element's attributes that are kept, resolved by namespace URI and rewritten. */
function cleanAttributes(tag: SaxesTagNS, local: string, refs: string[]): Array<[string, string]> {
  const out = new Map<string, string>();
  let href: string | null = null;
  for (const attr of Object.values(tag.attributes)) {
    const { uri, local: name, value } = attr;
    if (uri === XLINK_NS && name === 'href') {
      // SVG 2: a plain href wins over xlink:href.
      href ??= value;
      continue;
    }
    if (uri === '' && name === 'href') {
      href = value;
      continue;
    }
    const key = uri === '' ? name : uri === XML_NS && name === 'space' ? 'xml:space' : null;
    if (!key) continue;
    if (key === 'id') {
      if (ID.test(value)) out.set('id', value);
    } else if (key === 'style') {
      const style = cleanDeclarations(value, refs);
      if (style) out.set('style', style);
    } else if (PROPERTIES.has(key)) {
      const clean = cleanValue(key, value, refs);
      if (clean !== null && !clean.endsWith('!important')) out.set(key, clean);
    } else {
      const check = ATTRIBUTES[key];
      const clean = check ? check(value) : null;
      if (clean !== null) out.set(key, clean);
    }
  }
  if (href !== null && HREF_ELEMENTS.has(local)) {
    const fragment = /^\s*#([^\s]+)\s*$/.exec(href);
    if (fragment && ID.test(fragment[1]!) && local !== 'image') {
      out.set('href', `#${fragment[1]!}`);
      refs.push(fragment[1]!);
    } else if (local === 'image') {
      const inline = inlineImage(href);
      if (inline) out.set('href', inline);
    }
  }
  return [...out];
}

function describeXmlError(name: string, err: Error): ImageError {
  const message = err.message.replace(/\.$/, '');
  if (/undefined entity/.test(message)) {
    return new ImageError(
      `${name} uses an XML entity other than XML's own five (${message}), such as one declared in its DOCTYPE; entities are not expanded here (they can fetch files or expand without end). Write the character itself, or export the SVG without a DOCTYPE.`,
    );
  }
  return new ImageError(`${name} is not a valid SVG image: it is not well-formed XML (${message}).`);
}

/** The number of elements drawn with every reference expanded, counted without recursion; Infinity for a reference cycle. */
function drawnCount(root: Element, ids: Map<string, Element>, cap: number): number {
  const cost = new Map<Element, number>();
  const visiting = new Set<Element>();
  const stack: Array<{ el: Element; deps: Element[] | null }> = [{ el: root, deps: null }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (cost.has(top.el)) {
      stack.pop();
      continue;
    }
    if (!top.deps) {
      const deps: Element[] = [];
      for (const c of top.el.children) if (typeof c !== 'string') deps.push(c);
      for (const id of top.el.refs) {
        const target = ids.get(id);
        if (target) deps.push(target);
      }
      top.deps = deps;
      visiting.add(top.el);
      for (const dep of deps) {
        if (visiting.has(dep)) return Infinity;
        if (!cost.has(dep)) stack.push({ el: dep, deps: null });
      }
      continue;
    }
    stack.pop();
    visiting.delete(top.el);
    let total = 1;
    for (const dep of top.deps) total += cost.get(dep)!;
    cost.set(top.el, Math.min(total, cap + 1));
  }
  return cost.get(root)!;
}

function serialise(el: Element, out: string[]): void {
  out.push(`<${el.name}`);
  for (const [k, v] of el.attributes) out.push(` ${k}="${escapeAttribute(v)}"`);
  if (el.children.length === 0) {
    out.push('/>');
    return;
  }
  out.push('>');
  for (const child of el.children) {
    if (typeof child === 'string') out.push(escapeText(child));
    else serialise(child, out);
  }
  out.push(`</${el.name}>`);
}

/**
 * The SVG markup rebuilt from its allow-listed parts; throws ImageError for markup that is not
 * well-formed XML, not an SVG, uses declared entities, or is over SVG_LIMITS.
 */
export function sanitiseSvg(text: string, name = 'The SVG'): string {
  if (!/<([\w.-]+:)?svg[\s>/]/.test(text)) throw new ImageError(`${name} is not an SVG image (no <svg> element).`);
  const parser = new SaxesParser({ xmlns: true, position: true });
  let root: Element | null = null;
  /** The open elements: the kept element, or null inside something dropped. */
  const stack: Array<Element | null> = [];
  const ids = new Map<string, Element>();
  let elements = 0;
  let uses = 0;
  let styleChars = 0;
  /** An SVG written without its namespace (`<svg>` alone): its unprefixed elements are taken as SVG. */
  let defaultIsSvg = false;
  const tooMany = (what: string, limit: number) => new ImageError(`${name} has more than ${limit.toLocaleString('en')} ${what}; SVG files that complex are refused. Simplify it or export it as PNG.`);

  parser.on('opentag', (tag) => {
    if (++elements > SVG_LIMITS.elements) throw tooMany('elements', SVG_LIMITS.elements);
    if (stack.length >= SVG_LIMITS.depth) throw tooMany('levels of nesting', SVG_LIMITS.depth);
    const parent = stack.length > 0 ? stack[stack.length - 1]! : undefined;
    if (parent === undefined) {
      if (tag.local !== 'svg' || (tag.uri !== SVG_NS && tag.uri !== '')) throw new ImageError(`${name} is not an SVG image (its root element is <${tag.name}>, not <svg>).`);
      defaultIsSvg = tag.uri === '';
    }
    const inSvg = tag.uri === SVG_NS || (defaultIsSvg && tag.uri === '');
    if (parent === null || !inSvg || !ELEMENTS.has(tag.local) || (parent && parent.name === 'style')) {
      stack.push(null);
      return;
    }
    if (tag.local === 'use' && ++uses > SVG_LIMITS.uses) throw tooMany('<use> elements', SVG_LIMITS.uses);
    const refs: string[] = [];
    // A link is drawn as the group it is; where it leads is not kept.
    const local = tag.local === 'a' ? 'g' : tag.local;
    const el: Element = { name: local, attributes: cleanAttributes(tag, local, refs), children: [], refs };
    const id = el.attributes.find(([k]) => k === 'id')?.[1];
    if (id !== undefined) {
      if (ids.has(id)) el.attributes = el.attributes.filter(([k]) => k !== 'id');
      else ids.set(id, el);
    }
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  });
  const onText = (t: string) => {
    const el = stack[stack.length - 1];
    if (!el || !TEXT_ELEMENTS.has(el.name)) return;
    if (el.name === 'style' && (styleChars += t.length) > SVG_LIMITS.styleChars) throw tooMany('characters of <style>', SVG_LIMITS.styleChars);
    el.children.push(t);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    const el = stack.pop();
    if (el?.name === 'style') {
      const css = cleanStylesheet(el.children.join(''));
      el.children = css ? [css] : [];
    }
  });
  try {
    parser.write(text).close();
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw describeXmlError(name, err as Error);
  }
  if (!root) throw new ImageError(`${name} is not an SVG image (no <svg> element).`);
  const drawn = drawnCount(root, ids, SVG_LIMITS.drawn);
  if (drawn === Infinity) throw new ImageError(`${name} refers to itself in a loop (a <use> or url(#…) that leads back to where it started); it cannot be drawn.`);
  if (drawn > SVG_LIMITS.drawn) throw tooMany('elements once its <use> references are expanded', SVG_LIMITS.drawn);
  const svg: Element = root;
  svg.attributes = [['xmlns', SVG_NS], ...svg.attributes];
  const out: string[] = [];
  serialise(svg, out);
  return out.join('');
}
