/**
 * Preloaded into each test file's process by `npm test` (`--import`). The runner waits until a file's
 * process ends by itself: when its tests are done and everything they opened is closed. (It does not
 * force the exit: `--test-force-exit` ended processes before the last results of their report had
 * reached the runner, and the run's count of tests varied.) When something stays open instead (a
 * server, a socket, a ref'd timer, a child process, a database), this names what is left on stderr and
 * ends the process with exit code 1, so that the file fails by name instead of holding the whole run.
 */
import { after } from 'node:test';

/** From the start of the file's last hooks: they stop servers and databases within a few seconds. */
const LINGER_MS = 60_000;

// `node --test` sets NODE_TEST_CONTEXT in the process of each file, not in the runner's own process; a
// file run without `--test` is left alone.
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    // Unref'd: it fires only when something else keeps the process alive.
    setTimeout(() => {
      const open = process.getActiveResourcesInfo();
      process.stderr.write(
        `${process.argv[1]}: still running ${LINGER_MS / 1000} s after its tests ended; ` +
          `open: ${open.join(', ')} (stdout and stderr are PipeWraps). Close what the tests opened.\n`,
      );
      process.exit(1);
    }, LINGER_MS).unref();
  });
}
