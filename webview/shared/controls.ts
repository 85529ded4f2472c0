// Buttons as @vscode-elements components (themed, focus rings, keyboard handling as VS Code's
// own); their icons are codicon spans slotted in from the page, so they use the codicon font the
// page already loads (vscode-icon would need a separate codicon stylesheet link).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-toolbar-button/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type { VscodeToolbarButton } from '@vscode-elements/elements/dist/vscode-toolbar-button/vscode-toolbar-button.js';
import { el, icon } from './dom';

/**
 * A vscode-button with an icon and a visible label; a `secondary` class gives VS Code's less
 * prominent style.
 */
export function textButton(name: string | null, label: string, onClick: () => void, cls = 'text-button'): VscodeButton {
  const b = document.createElement('vscode-button');
  b.className = cls;
  b.secondary = cls.split(' ').includes('secondary');
  if (name) b.append(icon(name));
  b.append(el('span', undefined, label));
  b.addEventListener('click', onClick);
  return b;
}

/**
 * An icon-only action in a toolbar (an answer's actions, the composer): vscode-toolbar-button,
 * whose inner button carries `label` as its accessible name; the tooltip shows it too.
 */
export function toolbarButton(name: string, label: string, onClick: () => void): VscodeToolbarButton {
  const b = document.createElement('vscode-toolbar-button');
  b.label = label;
  b.title = label;
  b.append(icon(name));
  b.addEventListener('click', onClick);
  return b;
}
