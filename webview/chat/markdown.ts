// Model answers as markdown. The model's output is untrusted: markdown-it runs with raw HTML
// off (tags in the answer come out as text), and its output is sanitised by DOMPurify against a
// short allow-list of tags, attributes and link schemes before it touches the page. Region
// phrases and coordinates are put back afterwards as DOM nodes built here, never as markup.
// A long answer renders without blocking: markdown is parsed once into pieces (top-level blocks,
// and runs of lines of a long paragraph), a few milliseconds' worth are built at once and the rest
// in the next frames; pieces that did not change since the last render (while an answer streams,
// all but the last) keep their nodes.
import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';
import { labelColour } from '../../src/grounding/colour';
import { parseAnswer } from '../../src/grounding/parse';
import type { RegionView } from '../../src/protocol/webview';
import { el, iconButton } from '../shared/dom';

const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });

const ALLOWED_TAGS = ['p', 'br', 'strong', 'em', 'b', 'i', 'code', 'pre', 'ul', 'ol', 'li', 'blockquote', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'hr', 's', 'del'];
const ALLOWED_ATTR = ['href', 'title', 'class', 'start'];
const purify = DOMPurify(window);
purify.addHook('uponSanitizeAttribute', (_node, data) => {
  // The only class markdown-it writes: a code block's language.
  if (data.attrName === 'class') data.keepAttr = /^language-[\w+#.-]+$/.test(data.attrValue);
});
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeName === 'A') node.setAttribute('rel', 'noreferrer noopener');
});

function sanitised(html: string): DocumentFragment {
  return purify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
}

// Private-use characters mark where a region phrase or its coordinates go; any in the answer
// itself are dropped first, so the model cannot forge a marker.
const OPEN = '\uE000';
const CLOSE = '\uE001';
const MARKER = /\uE000(\d+)\uE001/g;

export interface AnswerHooks {
  copy(text: string): void;
}

type Segments = ReturnType<typeof parseAnswer>['segments'];

/**
 * One unit of rendering. `block`: a whole top-level block (its HTML). A long paragraph becomes
 * `open` (an empty <p>), `inline` runs of its lines appended to that <p>, and `close`.
 */
interface Piece {
  kind: 'block' | 'open' | 'inline' | 'close';
  html: string;
  /** Equal keys render equal nodes: the HTML and what its region markers stand for. */
  key: string;
}

/** A paragraph with more inline tokens than this is rendered in runs of this many. */
const INLINE_RUN = 64;
/**
 * Milliseconds of building in the call (the card around the answer is built in the same task)
 * and in each later frame (which also lays out what was added): the rest waits for the next frame.
 */
const FIRST_SLICE_MS = 3;
const SLICE_MS = 3;
/** An answer longer than this, with nothing of it on the page yet, is read in the next frames (about 1 ms per 5 000 characters, twice: regions, then markdown). */
const PARSE_NEXT_FRAME_CHARS = 4000;

interface Rendered {
  pieces: { key: string; kind: Piece['kind']; nodes: Node[] }[];
  /** Bumped by every render: a later frame of an older render stops when it sees a newer one. */
  generation: number;
}
const renderedOf = new WeakMap<HTMLElement, Rendered>();

/**
 * Renders `text` (markdown with InternVL region tags) into `target`: what fits in a few
 * milliseconds now, the rest over the next frames (`data-rendered` is "partial" until then).
 */
export function renderAnswer(target: HTMLElement, text: string, regions: readonly RegionView[], hooks: AnswerHooks): void {
  let state = renderedOf.get(target);
  if (!state || (state.pieces.length === 0 && target.firstChild)) {
    target.replaceChildren();
    state = { pieces: [], generation: 0 };
    renderedOf.set(target, state);
  }
  const rendered = state;
  const generation = ++rendered.generation;
  // Later frames go on only while this is the latest render and the answer is on the page.
  const current = () => rendered.generation === generation && target.isConnected;
  let pieces: Piece[] = [];
  let segments: Segments = [];
  let next = 0;
  /** Builds pieces until `until` (at least one when `surely`: every frame gets on). */
  const build = (until: number, surely: boolean) => {
    if (surely || performance.now() < until) {
      do {
        const piece = pieces[next++]!;
        rendered.pieces.push({ key: piece.key, kind: piece.kind, nodes: buildPiece(target, rendered, piece, segments, regions, hooks) });
      } while (next < pieces.length && performance.now() < until);
    }
    target.dataset.rendered = next < pieces.length ? 'partial' : 'complete';
  };
  const frame = () => {
    if (!current()) return;
    build(performance.now() + SLICE_MS, true);
    if (next < pieces.length) requestAnimationFrame(frame);
  };
  /** Parses the answer, keeps what did not change, builds until `budgetMs` from now, the rest in the next frames. */
  let source = '';
  /** The regions' tags: the answer's segments, and the markdown source with a marker for each. */
  const scan = () => {
    segments = parseAnswer(text.replace(/[\uE000\uE001]/g, '')).segments;
    source = segments.map((s, i) => (s.kind === 'text' ? s.text : `${OPEN}${i}${CLOSE}`)).join('');
  };
  const start = (budgetMs: number, surely: boolean) => {
    const until = performance.now() + budgetMs;
    pieces = toPieces(source, segments, regions);
    // Keep the nodes of the unchanged pieces at the start; drop the rest.
    let same = 0;
    while (same < pieces.length && same < rendered.pieces.length && rendered.pieces[same]!.key === pieces[same]!.key) same++;
    for (const old of rendered.pieces.splice(same)) for (const n of old.nodes) n.parentNode?.removeChild(n);
    next = same;
    if (next < pieces.length) build(until, surely);
    else target.dataset.rendered = 'complete';
    if (next < pieces.length) requestAnimationFrame(frame);
  };
  // A long answer drawn from nothing (a finished turn shown afresh) is read in the next frames,
  // its region tags in one and its markdown in the next: the card around it goes on the page at
  // once, and no frame does more than one of those or one slice of building.
  if (rendered.pieces.length === 0 && text.length > PARSE_NEXT_FRAME_CHARS) {
    target.dataset.rendered = 'partial';
    requestAnimationFrame(() => {
      if (!current()) return;
      scan();
      requestAnimationFrame(() => {
        if (current()) start(SLICE_MS, false);
      });
    });
  } else {
    scan();
    start(FIRST_SLICE_MS, true);
  }
}

/** Builds one piece's nodes into `target` (an inline run: into the paragraph it continues). */
function buildPiece(target: HTMLElement, rendered: Rendered, piece: Piece, segments: Segments, regions: readonly RegionView[], hooks: AnswerHooks): Node[] {
  if (piece.kind === 'close') return [];
  if (piece.kind === 'open') {
    const p = el('p');
    target.append(p);
    return [p];
  }
  const fragment = sanitised(piece.html);
  decorate(fragment, segments, regions, hooks);
  if (piece.kind === 'inline') {
    let open: Node | undefined;
    for (let i = rendered.pieces.length - 1; i >= 0 && !open; i--) if (rendered.pieces[i]!.kind === 'open') open = rendered.pieces[i]!.nodes[0];
    // A run of whole lines in a block of its own: the same lines, but laying out the next run
    // does not lay out the paragraph's earlier lines again.
    const run = el('span', 'answer-run');
    run.append(fragment);
    ((open as HTMLElement | undefined) ?? target).append(run);
    return [run];
  }
  const nodes = [...fragment.childNodes];
  target.append(fragment);
  return nodes;
}

/** Markdown source → pieces, each with the HTML markdown-it writes for it. */
function toPieces(source: string, segments: Segments, regions: readonly RegionView[]): Piece[] {
  const env = {};
  const tokens = md.parse(source, env);
  const pieces: Piece[] = [];
  const piece = (kind: Piece['kind'], html: string) => pieces.push({ kind, html, key: `${kind}:${html}${markerKey(html, segments, regions)}` });
  let start = 0;
  let depth = 0;
  tokens.forEach((t, i) => {
    depth += t.nesting;
    if (depth !== 0) return;
    const block = tokens.slice(start, i + 1);
    start = i + 1;
    const inline = block.length === 3 && block[0]!.type === 'paragraph_open' ? block[1]! : null;
    if (!inline || (inline.children?.length ?? 0) <= INLINE_RUN) return piece('block', md.renderer.render(block, md.options, env));
    // A long paragraph: runs of whole lines (each run ends after a line break).
    piece('open', '');
    const children = inline.children!;
    let from = 0;
    for (let k = 0; k < children.length; k++) {
      const breaks = children[k]!.type === 'softbreak' || children[k]!.type === 'hardbreak';
      if ((breaks && k + 1 - from >= INLINE_RUN) || k === children.length - 1) {
        piece('inline', md.renderer.renderInline(children.slice(from, k + 1), md.options, env));
        from = k + 1;
      }
    }
    piece('close', '');
  });
  return pieces;
}

/** What the region markers in `html` stand for: a piece renders anew when any of it changes. */
function markerKey(html: string, segments: Segments, regions: readonly RegionView[]): string {
  if (!html.includes(OPEN)) return '';
  let key = '';
  for (const m of html.matchAll(MARKER)) {
    const seg = segments[Number(m[1])];
    if (seg && seg.kind !== 'text') key += `\u0000${seg.kind}:${seg.text}:${seg.regions.join(',')}:${regions[seg.regions[0] ?? -1]?.label ?? ''}`;
  }
  return key;
}

/** Region markers → their phrase and coordinate elements; code blocks get a copy button. */
function decorate(fragment: DocumentFragment, segments: Segments, regions: readonly RegionView[], hooks: AnswerHooks): void {
  const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_TEXT);
  const withMarkers: Text[] = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) if ((n as Text).data.includes(OPEN)) withMarkers.push(n as Text);
  for (const node of withMarkers) {
    const parts: (string | Node)[] = [];
    let last = 0;
    for (const m of node.data.matchAll(MARKER)) {
      parts.push(node.data.slice(last, m.index));
      const seg = segments[Number(m[1])];
      if (seg && seg.kind !== 'text') {
        const span = seg.kind === 'ref' ? el('mark', 'ref', seg.text) : el('span', 'coordinates', seg.regions.length <= 1 ? '▭' : `▭×${seg.regions.length}`);
        if (seg.kind === 'coordinates') span.title = seg.text;
        span.dataset.regions = seg.regions.join(' ');
        const first = seg.regions[0];
        if (first !== undefined) span.style.setProperty('--region-colour', labelColour(regions[first]?.label ?? null));
        parts.push(span);
      }
      last = m.index + m[0].length;
    }
    parts.push(node.data.slice(last));
    node.replaceWith(...parts.filter((p) => p !== ''));
  }
  for (const pre of fragment.querySelectorAll('pre')) {
    const code = pre.textContent ?? '';
    const wrap = el('div', 'code-block');
    pre.replaceWith(wrap);
    const copy = iconButton('copy', 'Copy code', () => hooks.copy(code));
    copy.classList.add('copy-code');
    wrap.append(pre, copy);
  }
}
