// Model answers as markdown. The model's output is untrusted: markdown-it runs with raw HTML
// off (tags in the answer come out as text), and its output is sanitised by DOMPurify against a
// short allow-list of tags, attributes and link schemes before it touches the page. Region
// phrases and coordinates are put back afterwards as DOM nodes built here, never as markup.
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

/** Markdown → a sanitised fragment (no scripts, handlers, styles, media, or links other than http(s)/mailto). */
export function sanitisedMarkdown(source: string): DocumentFragment {
  return purify.sanitize(md.render(source), {
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

/** Renders `text` (markdown with InternVL region tags) into `target`. */
export function renderAnswer(target: HTMLElement, text: string, regions: readonly RegionView[], hooks: AnswerHooks): void {
  const segments = parseAnswer(text.replace(/[\uE000\uE001]/g, '')).segments;
  const source = segments.map((s, i) => (s.kind === 'text' ? s.text : `${OPEN}${i}${CLOSE}`)).join('');
  const fragment = sanitisedMarkdown(source);
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
  target.replaceChildren(fragment);
}
