// The title row (conversation title, history, new chat) and the history list: open, rename,
// delete, clear all.
import type { ConversationSummary, WebviewMessage } from '../../src/protocol/webview';
import { textButton } from '../shared/controls';
import { el, iconButton, withClass } from '../shared/dom';
import type { ChatState } from './state';

type Send = (msg: WebviewMessage) => void;

export class History {
  readonly header = el('header', 'chat-header');
  readonly panel = el('section', 'history');
  private readonly title = el('span', 'chat-title', '');
  private readonly toggleButton: HTMLButtonElement;

  constructor(
    private readonly state: ChatState,
    private readonly send: Send,
  ) {
    this.toggleButton = withClass(iconButton('history', 'Show conversation history', () => this.toggle()), 'history-toggle');
    this.toggleButton.setAttribute('aria-expanded', 'false');
    this.header.append(this.title, this.toggleButton, withClass(iconButton('add', 'New chat', () => send({ type: 'newChat' })), 'new-chat'));
    this.panel.setAttribute('aria-label', 'Conversation history');
    this.panel.hidden = true;
    state.subscribe((c) => {
      if (c.kind === 'history') this.render();
    });
    this.render();
  }

  toggle(show = this.panel.hidden): void {
    this.panel.hidden = !show;
    this.toggleButton.setAttribute('aria-expanded', String(show));
    if (show) (this.panel.querySelector<HTMLElement>('.history-item button') ?? this.panel.querySelector<HTMLElement>('button'))?.focus();
  }

  private render(): void {
    const { state, send } = this;
    const current = state.conversations.find((c) => c.id === state.currentConversation);
    this.title.textContent = current?.title ?? '';
    this.title.title = current?.title ?? '';
    const list = el('ul', 'history-list');
    for (const c of state.conversations) {
      const isCurrent = c.id === state.currentConversation;
      const item = el('li', isCurrent ? 'history-item current' : 'history-item');
      item.dataset.conversationId = c.id;
      const open = el('button', 'history-open');
      open.type = 'button';
      open.append(el('span', 'history-title', c.title), el('span', 'history-meta', `${new Date(c.updated).toLocaleString()} · ${c.turns} question${c.turns === 1 ? '' : 's'}`));
      open.setAttribute('aria-current', String(isCurrent));
      open.addEventListener('click', () => {
        send({ type: 'openConversation', id: c.id });
        this.toggle(false);
      });
      const rename = withClass(iconButton('edit', `Rename "${c.title}"`, () => this.startRename(item, c)), 'history-rename');
      const remove = withClass(iconButton('trash', `Delete "${c.title}"`, () => send({ type: 'deleteConversation', id: c.id })), 'history-delete');
      item.append(open, rename, remove);
      list.append(item);
    }
    const tools = el('div', 'history-tools');
    tools.append(el('span', 'history-heading', state.conversations.length ? 'History' : 'No saved conversations yet.'));
    // Deleting every conversation is the least common action here: quiet, not the page's one primary button.
    if (state.conversations.length) tools.append(textButton('clear-all', 'Clear all', () => send({ type: 'clearHistory' }), 'text-button secondary history-clear'));
    this.panel.replaceChildren(tools, list);
  }

  private startRename(item: HTMLElement, c: ConversationSummary): void {
    const input = el('input', 'history-rename-input');
    input.value = c.title;
    input.setAttribute('aria-label', 'Conversation title');
    item.replaceChildren(input);
    input.focus();
    input.select();
    let done = false;
    const finish = (save: boolean) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== c.title) this.send({ type: 'renameConversation', id: c.id, title });
      this.render();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') finish(true);
      else if (e.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
  }
}
