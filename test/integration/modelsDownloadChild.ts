// Runs one download in its own process, so a test can kill it midway (SIGKILL: no cleanup runs).
// argv: url destination
import { downloadFile } from '../../src/models/download';

const [url, destination] = process.argv.slice(2);
downloadFile({ url: url!, destination: destination!, connections: 3, minSegmentBytes: 16 * 1024, saveIntervalMs: 20, progressIntervalMs: 20 }).then(
  () => console.log('done'),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
