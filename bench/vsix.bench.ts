// Size of the VSIX for every target, against the budget the VSIX test enforces.
//   node scripts/build.mjs --production && node --import tsx bench/vsix.bench.ts
import { packageTarget, VSIX_BUDGET_BYTES } from '../scripts/package.mjs';
import { TARGETS } from '../scripts/runtime-packages.mjs';
import { reportBench } from './report';

const MiB = 1048576;
const rows = TARGETS.map((target) => {
  const { bytes, entries } = packageTarget(target);
  console.log(`${target.padEnd(13)} ${(bytes / MiB).toFixed(2).padStart(6)} MiB  ${entries} files`);
  return { name: `VSIX ${target}`, value: Number((bytes / MiB).toFixed(2)), unit: 'MiB', budget: VSIX_BUDGET_BYTES / MiB, note: `${entries} files` };
});
reportBench('vsix', rows);
if (rows.some((r) => r.value > r.budget)) process.exitCode = 1;
