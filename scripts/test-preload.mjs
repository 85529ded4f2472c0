// Loaded into every test process by scripts/test.mjs (node --import): an unhandled promise
// rejection or an uncaught exception anywhere in a suite fails the run, even one node:test would
// only warn about or one raised after the last test. Each is appended as one JSON line to the file
// named by INTERNVL_LENS_TEST_FAULTS, which the runner counts as a failure of its own.
import { appendFileSync } from 'node:fs';

const faultsFile = process.env.INTERNVL_LENS_TEST_FAULTS;

function record(kind, error) {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const fault = { kind, file: process.argv[1] ?? '', pid: process.pid, message: text.split('\n').slice(0, 4).join(' | ').slice(0, 500) };
  process.exitCode = 1;
  process.stderr.write(`[test-preload] ${kind} in ${fault.file}: ${text}\n`);
  if (!faultsFile) return;
  try {
    appendFileSync(faultsFile, `${JSON.stringify(fault)}\n`);
  } catch (err) {
    process.stderr.write(`[test-preload] could not record it in ${faultsFile}: ${String(err)}\n`);
  }
}

// A listener for 'unhandledRejection' is what node:test installs in its test processes too, so this
// one changes nothing else there; exceptions are only watched (the monitor does not handle them).
process.on('unhandledRejection', (reason) => record('unhandled rejection', reason));
process.on('uncaughtExceptionMonitor', (error) => record('uncaught exception', error));
