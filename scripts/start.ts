// `npm start`: builds InternVL Lens and opens it in a real VS Code (code-server) on
// http://127.0.0.1:PORT, with the model in INTERNVL_LENS_MODEL / INTERNVL_LENS_MMPROJ, or the
// generated tiny demo model (scripted answers: it proves the pipeline, it does not see).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startCodeServer, REPO_ROOT } from '../test/e2e/harness';
import { ensureFixtures } from '../test/fixtures/generate';
import { encodePng, gradientImage } from '../test/fixtures/png';

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit' });

async function main(): Promise<void> {
  run('bash', ['scripts/install-test-deps.sh']);
  run(process.execPath, ['scripts/build.mjs']);
  run(process.execPath, ['scripts/package.mjs', '--llama-cpp', 'test']);

  let modelPath = process.env.INTERNVL_LENS_MODEL ?? '';
  let mmprojPath = process.env.INTERNVL_LENS_MMPROJ ?? '';
  if (!modelPath) {
    const generated = join(REPO_ROOT, 'test', 'fixtures', 'generated');
    await ensureFixtures(generated);
    modelPath = join(generated, 'grounding', 'model.gguf');
    mmprojPath = join(generated, 'grounding', 'mmproj.gguf');
    console.log('No INTERNVL_LENS_MODEL set: using the tiny demo model (scripted answers).');
  }

  const workspace = join(REPO_ROOT, '.run', 'demo-workspace');
  mkdirSync(workspace, { recursive: true });
  const sample = join(workspace, 'sample-diagram.png');
  if (!existsSync(sample)) writeFileSync(sample, encodePng(800, 500, gradientImage(800, 500)));

  const server = await startCodeServer({
    workspace,
    settings: { 'internvlLens.modelPath': modelPath, 'internvlLens.mmprojPath': mmprojPath },
    vsix: join(REPO_ROOT, 'dist', 'internvl-lens.vsix'),
    ...(process.env.PORT ? { port: Number(process.env.PORT) } : {}),
  });
  console.log(`\nInternVL Lens is running in VS Code at ${server.url}/?folder=${encodeURIComponent(workspace)}`);
  console.log('Right-click sample-diagram.png in the Explorer → "Explain this diagram". Ctrl+C stops.');
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
