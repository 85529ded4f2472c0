// Small DOM builders. Untrusted text only ever goes in through textContent.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A codicon (the font bundled with the webview), hidden from screen readers. */
export function icon(name: string): HTMLElement {
  const i = el('span', `codicon codicon-${name}`);
  i.setAttribute('aria-hidden', 'true');
  return i;
}

/** A toolbar button showing only an icon; `label` is its tooltip and its accessible name. */
export function iconButton(name: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', 'icon-button');
  b.type = 'button';
  b.title = label;
  b.setAttribute('aria-label', label);
  b.append(icon(name));
  b.addEventListener('click', onClick);
  return b;
}

/** A button with an icon and a visible label. */
export function textButton(name: string | null, label: string, onClick: () => void, cls = 'text-button'): HTMLButtonElement {
  const b = el('button', cls);
  b.type = 'button';
  if (name) b.append(icon(name));
  b.append(el('span', undefined, label));
  b.addEventListener('click', onClick);
  return b;
}
