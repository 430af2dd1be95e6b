/**
 * The command line as a `node -e` script run with tsx (`node --import tsx -e CLI_SCRIPT ARGS...`):
 * the sources themselves, not the built dist/, in a process of its own, for tests that signal it,
 * stub its modules first, or watch it end.
 */
export const CLI_SCRIPT = "import('./src/cli/main.ts').then((m) => m.main(['node', 'higher-pose', ...process.argv.slice(1)]))";

/** node's arguments before the command's: `spawn(process.execPath, [...CLI_PROCESS, 'video', ...])`. */
export const CLI_PROCESS: readonly string[] = ['--import', 'tsx', '-e', CLI_SCRIPT];
