// SVG diagrams rasterised to PNG without fetching or running anything, and without costing the
// host more than a bounded time: a child process (./svgRasteriser.ts) rebuilds the markup from its
// allow-listed parts (./svgSanitise.ts) and draws it with librsvg (through sharp); it is killed
// when it has not answered SVG_DEADLINE_MS after it was given the file.
import { fork } from 'node:child_process';
import { bundledScript } from '../bundledScript';
import { ImageError } from '../images';
import { SvgChildMessage, type SvgJob } from '../protocol/imageJobs';
import { parseMessage } from '../protocol/validate';
import { type Capture } from './capture';

/** SVG sources over this size are refused before parsing. */
export const MAX_SVG_BYTES = 20 * 1024 * 1024;
/** The longest any SVG may take to be parsed, checked and drawn. */
export const SVG_DEADLINE_MS = 2000;
/** Starting the child (Node and sharp) is not the file's doing: a loaded machine gets longer. */
const START_TIMEOUT_MS = 20_000;

export async function rasteriseSvg(bytes: Uint8Array, name: string): Promise<Capture> {
  if (bytes.byteLength === 0) throw new ImageError(`${name} is empty (0 bytes), so there is no diagram.`);
  if (bytes.byteLength > MAX_SVG_BYTES) throw new ImageError(`${name} is over ${MAX_SVG_BYTES / 1024 / 1024} MB; SVG files that large are refused.`);
  const drawn = await inChild({ svg: bytes, name });
  return { bytes: drawn.png, name: name.replace(/\.svgz?$/i, '') + '.png', width: drawn.width, height: drawn.height, scaleFactor: 1 };
}

function inChild(job: SvgJob): Promise<Extract<SvgChildMessage, { type: 'drawn' }>> {
  const script = bundledScript('svgRasteriser', 'capture/svgRasteriser.ts');
  const child = fork(script.path, [], {
    execPath: process.execPath,
    execArgv: script.execArgv,
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  // 'exit' may not follow a failed start: 'error' ends the wait too.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return new Promise((resolve, reject) => {
    let timer = setTimeout(() => fail(new ImageError(`The SVG renderer did not start within ${START_TIMEOUT_MS / 1000} s, so ${job.name} was not drawn. Try again.`)), START_TIMEOUT_MS);
    let settled = false;
    /** Settles once the child is gone: nothing this started outlives the answer. */
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      void exited.then(outcome);
    };
    const fail = (err: Error) => settle(() => reject(err));
    child.on('message', (raw: unknown) => {
      let msg: SvgChildMessage;
      try {
        msg = parseMessage('SVG renderer', SvgChildMessage, raw);
      } catch (err) {
        return fail(err as Error);
      }
      if (msg.type === 'ready') {
        clearTimeout(timer);
        timer = setTimeout(
          () => fail(new ImageError(`${job.name} took more than ${SVG_DEADLINE_MS / 1000} s to draw and was stopped: it is too complex. Simplify it or export it as PNG.`)),
          SVG_DEADLINE_MS,
        );
        child.send(job);
      } else if (msg.type === 'refused') {
        fail(new ImageError(msg.message));
      } else {
        settle(() => resolve(msg));
      }
    });
    child.once('error', (err) => fail(new ImageError(`The SVG renderer could not be started (${err.message}), so ${job.name} was not drawn.`)));
    child.once('exit', (code, signal) => fail(new ImageError(`The SVG renderer stopped (${signal ?? `exit code ${code}`}) before drawing ${job.name}.${stderr ? ` ${stderr.trim().split('\n').pop()}` : ''}`)));
  });
}
