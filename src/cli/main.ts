/** The `higher-pose` command line. */
import { Command, CommanderError } from 'commander';
import { registerDemo } from './commands/demo.js';
import { registerEval } from './commands/eval.js';
import { registerExportOnnx } from './commands/export-onnx.js';
import { registerExportTfjs } from './commands/export-tfjs.js';
import { registerHeatmaps } from './commands/heatmaps.js';
import { registerPredict } from './commands/predict.js';
import { registerVideo } from './commands/video.js';
import { Interrupted } from './interrupted.js';
import { endBySignal } from '../io/atomic.js';
import { registerWeights } from './commands/weights.js';
import { isReportedOutputError, watchOutputErrors } from './output-errors.js';
import { USAGE_STATUS, usageError } from './options.js';
import { createEstimator } from '../estimator.js';
import { notingNewFolders } from '../io/atomic.js';
import { PACKAGE_VERSION } from '../paths.js';

export function buildProgram(): Command {
  const program = new Command('higher-pose')
    .description('Bottom-up multi-person pose estimation with HigherHRNet')
    .version(PACKAGE_VERSION(), '-V, --version', 'print the version of higher-pose')
    // A hint, not the whole help: 50 lines of it scrolled the one line saying what was wrong away.
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (message, write) => write(withOptionOwners(program, message)) })
    // Set before the commands are added, which inherit it.
    .exitOverride((error) => {
      throw withUsageStatus(error);
    });
  registerPredict(program);
  registerDemo(program);
  registerExportOnnx(program);
  registerExportTfjs(program);
  registerHeatmaps(program);
  registerVideo(program, { createEstimator });
  registerEval(program, { createEstimator });
  registerWeights(program);
  registerHelp(program);
  return program;
}

export { USAGE_STATUS };

/**
 * commander's "unknown option" error, followed by the commands that do have the option:
 * `predict x.jpg --every 2` is most likely a flag of `video` given to another command.
 */
function withOptionOwners(program: Command, message: string): string {
  const flag = /^error: unknown option '(--[^'=]+)/.exec(message)?.[1];
  if (flag === undefined) return message;
  const owners = commandsWithOption(program, flag);
  if (owners.length === 0) return message;
  return `${message}(${flag} is an option of ${new Intl.ListFormat('en').format(owners.map((name) => `'${name}'`))})\n`;
}

/** The commands under `parent` (as typed: `weights fetch`) that take the option `flag`. */
function commandsWithOption(parent: Command, flag: string, prefix = ''): string[] {
  return parent.commands.flatMap((command) => {
    const name = `${prefix}${command.name()}`;
    const own = command.options.some((option) => option.long === flag) ? [name] : [];
    return [...own, ...commandsWithOption(command, flag, `${name} `)];
  });
}

/**
 * `help [command]`, as commander's own, except that an unknown command is said to be one (exit 2):
 * commander's printed the help with exit 2 and no word of what was wrong.
 */
function registerHelp(program: Command): void {
  program.helpCommand(false);
  program.command('help [command]')
    .description('display help for command')
    .action((name: string | undefined) => {
      if (name === undefined) return program.help();
      const command = program.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (command === undefined) return usageError(program, `unknown command '${name}'`);
      return command.help();
    });
}

/**
 * Commander's own errors (unknown command or option, missing or malformed value, a command
 * without its subcommand) exit with {@link USAGE_STATUS}, so that a script tells a mistyped
 * command from a failed run (1); help asked for (0) and the commands' errors keep their status.
 */
function withUsageStatus(error: CommanderError): CommanderError {
  if (!error.code.startsWith('commander.') || error.exitCode === 0) return error;
  return new CommanderError(USAGE_STATUS, error.code, error.message);
}

/**
 * Runs the CLI; errors print as one line (with the error type) and exit non-zero. A run that
 * fails (a non-zero status) removes the output folders it made and left empty. Each call is
 * judged by its own status; a status an earlier call in the process set is kept unless this one sets another.
 */
export async function main(argv: string[]): Promise<void> {
  watchOutputErrors();
  const earlierStatus = process.exitCode;
  process.exitCode = undefined;
  const endNoting = notingNewFolders();
  let interruptedBy: NodeJS.Signals | undefined;
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // Commander has printed its message (and the usage where it helps).
    if (err instanceof CommanderError) process.exitCode = err.exitCode;
    else if (err instanceof Interrupted) {
      console.error(`higher-pose: ${err.message}`);
      interruptedBy = err.signal;
    } else {
      const error = err as Error;
      if (!isReportedOutputError(error)) console.error(`higher-pose: ${error.name}: ${error.message}`);
      process.exitCode = 1;
    }
  }
  const failed = Number(process.exitCode ?? 0) !== 0;
  endNoting(interruptedBy !== undefined || failed);
  if (!failed) process.exitCode = earlierStatus;
  // Not a failure: what the run leaves is said, and the process ends by the signal, as a shell expects.
  if (interruptedBy) endBySignal(interruptedBy);
}
