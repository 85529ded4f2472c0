// Size of the VSIX for every target, against the budget the VSIX test enforces, each with the
// llama-server `npm run package` gives it: this machine's target the portable build made here
// (scripts/build-llama-server.sh --flavour portable, cached), the others the pinned release's CPU
// build from GitHub. Where GitHub cannot be reached the row says so and is not budgeted: a VSIX
// without its llama-server is not the one that ships.
//   node scripts/build.mjs --production && node --import tsx bench/vsix.bench.ts
import { packageTarget, VSIX_BUDGET_BYTES } from '../scripts/package.mjs';
import { hostTarget, TARGETS } from '../scripts/runtime-packages.mjs';
import { type BenchRow, reportBench } from './report';

const MiB = 1048576;

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  for (const target of TARGETS) {
    let r: Awaited<ReturnType<typeof packageTarget>>;
    let note: string;
    try {
      r = await packageTarget(target, { llamaCpp: 'portable' });
      note = `${r.entries} files; llama.cpp ${r.llamaCpp?.build} ${((r.llamaCpp?.bytes ?? 0) / MiB).toFixed(1)} MiB unpacked`;
    } catch (err) {
      if (target === hostTarget()) throw err;
      r = await packageTarget(target, { llamaCpp: 'none' });
      note = `${r.entries} files; WITHOUT llama.cpp (${(err as Error).message.split('\n')[0]!.slice(0, 120)})`;
    }
    console.log(`${target.padEnd(13)} ${(r.bytes / MiB).toFixed(2).padStart(6)} MiB  ${note}`);
    rows.push({ name: `VSIX ${target}`, value: Number((r.bytes / MiB).toFixed(2)), unit: 'MiB', budget: r.llamaCpp ? VSIX_BUDGET_BYTES / MiB : NaN, kind: r.llamaCpp ? 'max' : 'info', note });
  }
  reportBench('vsix', rows);
  if (rows.some((r) => r.kind !== 'info' && r.value > r.budget)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
