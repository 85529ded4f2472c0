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
        counts.failures.push(describe(data));
      }
      continue;
    }
    if (data.skip || data.todo) counts.skipped++;
    else if (event.type === 'test:pass') counts.passed++;
    else {
      counts.failed++;
      counts.failures.push(describe(data));
    }
  }
  yield JSON.stringify(counts);
}

/** `file › test`, and why when it timed out or the file failed as a whole (the name alone says nothing then). */
function describe(data) {
  const error = data.details?.error;
  const why = error?.failureType === 'testTimeoutFailure' || data.name === data.file ? String(error?.cause?.message ?? error?.message ?? '').split('\n')[0].slice(0, 200) : '';
  return `${data.file ?? ''} › ${data.name}${why ? ` (${why})` : ''}`;
}
