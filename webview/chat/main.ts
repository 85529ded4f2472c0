// The chat app inside the webview (sidebar view or editor panel). Untrusted content (model output,
// file names) is inserted as text nodes or as markdown sanitised by DOMPurify (markdown.ts);
// every message from the host is validated (shared/host.ts) before it reaches the state.
//   state.ts     the one state object; host messages are applied to it, components subscribe
//   history.ts   the title row and the conversation history
//   turns.ts     the conversation: one card per turn, patched in place while it streams
//   stage.ts     an image with its regions drawn over it (zoom, export, region list)
//   composer.ts  presets, waiting images, the question; paste and drop
//   follow.ts    the conversation's scrolling: follow the newest content, "Jump to latest"
import '@vscode/codicons/dist/codicon.css';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import { HostMessage, type WebviewMessage } from '../../src/protocol/webview';
import { connectHost } from '../shared/host';
import { Composer } from './composer';
import { Follow } from './follow';
import { History } from './history';
import { ChatState } from './state';
import { TurnList } from './turns';
import './chat.css';

const state = new ChatState();
const { send } = connectHost<WebviewMessage, HostMessage>(HostMessage, (msg) => state.apply(msg));

const app = document.getElementById('app')!;
const history = new History(state, send);
// The conversation scrolls; the title row and the composer stay where they are.
const conversation = document.createElement('div');
conversation.className = 'conversation';
// (The state emits nothing before the first host message, after `follow` exists.)
const turns = new TurnList(state, send, (added) => (added ? follow.jump() : follow.grew()));
conversation.append(history.panel, turns.element);
const follow = new Follow(conversation, turns.element);
const composer = new Composer(state, send);
composer.element.prepend(follow.jumpButton);
composer.acceptImages(app);
app.append(history.header, conversation, composer.element);
state.apply({ type: 'snapshot', turns: [] });
send({ type: 'ready' });
