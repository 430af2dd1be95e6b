/**
 * The command line as a `node -e` script run with tsx (`node --import tsx -e CLI_SCRIPT ARGS...`):
 * the sources themselves, not the built dist/, in a process of its own, for tests that signal it,
 * stub its modules first, or watch it end.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export const CLI_SCRIPT = "import('./src/cli/main.ts').then((m) => m.main(['node', 'higher-pose', ...process.argv.slice(1)]))";

/** node's arguments before the command's: `spawn(process.execPath, [...CLI_PROCESS, 'video', ...])`. */
export const CLI_PROCESS: readonly string[] = ['--import', 'tsx', '-e', CLI_SCRIPT];

/** A command line run by `spawnCli`: what it printed so far, and how it ended. */
export interface CliRun {
  child: ChildProcess;
  ended: Promise<{ code: number | null; by: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** Resolves once `reached()` holds (`what`, for the failure); fails if the process ended first. */
  until(what: string, reached: () => boolean): Promise<void>;
}

/**
 * `node --import tsx -e script ARGS...` (the command line by default), its output collected.
 * `detached`: in a process group of its own, as a terminal's job, which `process.kill(-pid, ...)` signals whole.
 */
export function spawnCli(args: readonly string[], { script = CLI_SCRIPT, env, stdin = 'ignore', detached = false }: {
  script?: string; env?: NodeJS.ProcessEnv; stdin?: 'ignore' | 'pipe' | number; detached?: boolean;
} = {}): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, ...args], { stdio: [stdin, 'pipe', 'pipe'], env, detached });
  let [stdout, stderr] = ['', ''];
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const ended = new Promise<{ code: number | null; by: NodeJS.Signals | null }>((resolve) => child.on('close', (code, by) => resolve({ code, by })));
  return {
    child,
    ended,
    stdout: () => stdout,
    stderr: () => stderr,
    async until(what, reached) {
      while (!reached()) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the command ended before ${what}: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/**
 * The command line, whose network run number `index` (0 first; one run a frame without flip test)
 * first awaits `hold`, JavaScript run in the child with `fs` in scope (write a marker, wait for a
 * signal): a fixed point in a run. `setup` runs once, before the command line starts.
 */
export const networkRunHeldScript = (index: number, hold: string, setup = ''): string => `Promise.all([import('node:fs'), import('onnxruntime-node')]).then(([fs, ort]) => {
    ${setup}
    const { create } = ort.InferenceSession;
    ort.InferenceSession.create = async (...args) => {
      const session = await create.apply(ort.InferenceSession, args);
      const run = session.run.bind(session);
      let runs = 0;
      session.run = async (...given) => {
        if (runs++ === ${index}) await (async () => { ${hold} })();
        return run(...given);
      };
      return session;
    };
    return ${CLI_SCRIPT};
  })`;
