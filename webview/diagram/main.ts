// The Mermaid panel: draws diagram source with mermaid (loaded as its own script), then paints
// the SVG on a canvas and sends the PNG to the host. securityLevel 'strict': no click handlers,
// labels sanitised; SVG text labels (no HTML), so the canvas is never tainted.
import { DiagramHostMessage, type DiagramWebviewMessage } from '../../src/protocol/diagram';
import { bytesToBase64 } from '../shared/base64';
import { connectHost } from '../shared/host';
import { errorMessage } from '../../src/util/errorMessage';

declare const mermaid: {
  initialize(config: Record<string, unknown>): void;
  render(id: string, text: string): Promise<{ svg: string }>;
};

/** Device pixels per SVG unit: diagrams are drawn crisp enough for the model to read small labels. */
const SCALE = 2;
const MAX_LONG_SIDE = 4096;
const MAX_PIXELS = 50_000_000;

const status = document.createElement('p');
status.textContent = 'Drawing the diagram…';
const preview = document.createElement('div');
document.body.append(status, preview);

mermaid.initialize({
  startOnLoad: false,
  securityLevel: 'strict',
  theme: 'default',
  htmlLabels: false,
  flowchart: { htmlLabels: false },
  class: { htmlLabels: false },
  state: { htmlLabels: false },
});

let count = 0;

async function render(source: string): Promise<void> {
  const { svg } = await mermaid.render(`diagram-${++count}`, source);
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root = doc.documentElement as unknown as SVGSVGElement;
  const box = root.viewBox?.baseVal;
  const width = box && box.width > 0 ? box.width : Number.parseFloat(root.getAttribute('width') ?? '') || 800;
  const height = box && box.height > 0 ? box.height : Number.parseFloat(root.getAttribute('height') ?? '') || 600;
  // Explicit size: mermaid's width="100%" would leave the image without an intrinsic size.
  root.setAttribute('width', String(width));
  root.setAttribute('height', String(height));
  root.removeAttribute('style');
  const scale = Math.min(SCALE, MAX_LONG_SIDE / Math.max(width, height), Math.sqrt(MAX_PIXELS / (width * height)));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const text = new XMLSerializer().serializeToString(root);
  const img = new Image();
  img.src = `data:image/svg+xml;base64,${bytesToBase64(new TextEncoder().encode(text))}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext('2d')!;
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, w, h);
  g.drawImage(img, 0, 0, w, h);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the canvas produced no PNG');
  img.style.maxWidth = '100%';
  preview.replaceChildren(img);
  status.textContent = `${w} × ${h}`;
  send({ type: 'rendered', png: bytesToBase64(new Uint8Array(await blob.arrayBuffer())), width: w, height: h });
}

const { send } = connectHost<DiagramWebviewMessage, DiagramHostMessage>(DiagramHostMessage, (msg) => {
  render(msg.source).catch((err: unknown) => {
    const message = errorMessage(err);
    status.textContent = message;
    send({ type: 'error', message: message.slice(0, 2000) });
  });
});

send({ type: 'ready' });
