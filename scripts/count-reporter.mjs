// A node:test reporter that counts leaf tests and writes {passed, failed, skipped} as JSON;
// scripts/test.mjs adds the suites up into the one summary line.
export default async function* countReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    if (data.details?.type === 'suite') {
      // A suite fails on its own only when a hook or its body throws outside any test.
      if (event.type === 'test:fail' && data.details?.error?.failureType !== 'subtestsFailed') {
        counts.failed++;
        counts.failures.push(`${data.file ?? ''} › ${data.name}`);
      }
      continue;
    }
    if (data.skip || data.todo) counts.skipped++;
    else if (event.type === 'test:pass') counts.passed++;
    else {
      counts.failed++;
      counts.failures.push(`${data.file ?? ''} › ${data.name}`);
    }
  }
  yield JSON.stringify(counts);
}
