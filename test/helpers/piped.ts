/** A file argument given as a pipe gives it (`--config <(...)`, `--weights /dev/stdin`): its content once. */
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

/**
 * Runs `run` with `content` at `path` as a pipe gives it: a FIFO whose first reader gets
 * `content` and every later one nothing, as a pipe read again would give.
 */
export async function withPipedOnce(path: string, content: string | Uint8Array, run: () => Promise<unknown>): Promise<void> {
  const source = `${path}.content`;
  writeFileSync(source, content);
  execFileSync('mkfifo', [path]);
  const writer = spawn('sh', ['-c', 'cat "$1" > "$0"; while :; do : > "$0"; done', path, source], { stdio: 'ignore' });
  try {
    await run();
  } finally {
    writer.kill();
    rmSync(path, { force: true });
    rmSync(source, { force: true });
  }
}
