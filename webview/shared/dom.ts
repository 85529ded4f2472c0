// Small DOM builders shared by the three webview apps. Untrusted text only ever goes in through
// textContent. Plain elements only: the themed vscode-elements controls are in controls.ts, so an
// app that does not use them (the Capture Region panel) does not carry them.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Adds a class and returns the element, for builders that end in an expression. */
export function withClass<T extends HTMLElement>(e: T, cls: string): T {
  e.classList.add(cls);
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
