/**
 * Failed writes to stdout and stderr. Node emits them as 'error' events, which, unheard, end
 * the process with a stack trace: `higher-pose predict ... | head -1` (EPIPE) or
 * `> /dev/full` (ENOSPC).
 */

let watched = false;
let stdoutFailure: Error | undefined;

/**
 * Hears the errors of stdout and stderr for the rest of the process. A reader that closed the
 * pipe (EPIPE) has what it wanted: the run goes on and keeps its exit status. Any other failure
 * of stdout (a full disk) loses the command's output: it is reported once on stderr and the exit
 * status becomes 1. Stderr's own failures cannot be reported anywhere.
 */
export function watchOutputErrors(): void {
  if (watched) return;
  watched = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || stdoutFailure) return;
    stdoutFailure = err;
    process.exitCode = 1;
    process.stderr.write(`higher-pose: cannot write to stdout: ${err.message}\n`);
  });
  process.stderr.on('error', () => {});
}

/** Whether `error` is the failure of stdout already reported (a command that wrote with its own checks, as `video`, throws it too). */
export const isReportedOutputError = (error: unknown): boolean => error !== undefined && error === stdoutFailure;
