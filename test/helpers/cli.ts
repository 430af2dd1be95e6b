/** Running the CLI in-process and checking rejections, shared by the suites that drive the API and the commands. */
import { expect } from 'chai';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/main.js';

/** Runs the CLI in-process with its output silenced; returns the exit code it set. */
export async function cli(...args: string[]): Promise<number> {
  return (await cliReporting(...args)).code;
}

/** `cli`, with what the command printed with console.error (its summary and problems), a line per call, and stdout. */
export async function cliReporting(...args: string[]): Promise<{ code: number; errors: string[]; stdout: string }> {
  const { code, errors, stdout, thrown } = await capture(args);
  if (thrown) throw thrown.error;
  return { code, errors, stdout };
}

/** A command that throws: its error, with what it printed before: console.error's lines, and stdout (console.log's too). */
export async function cliFailing(...args: string[]): Promise<{ error: unknown; errors: string[]; stdout: string }> {
  const { errors, stdout, thrown } = await capture(args);
  expect(thrown, 'expected the command to throw').to.not.equal(undefined);
  return { error: thrown!.error, errors, stdout };
}

/** Runs the CLI in-process with its output captured: the exit code it set, or what it threw. */
async function capture(args: string[]): Promise<{ code: number; errors: string[]; stdout: string; thrown?: { error: unknown } }> {
  const saved = process.exitCode;
  process.exitCode = undefined;
  const log = console.log;
  const error = console.error;
  const write = process.stdout.write;
  const errors: string[] = [];
  let stdout = '';
  console.log = (...parts: unknown[]) => void (stdout += `${parts.join(' ')}\n`);
  console.error = (...parts: unknown[]) => void errors.push(parts.join(' '));
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'higher-pose', ...args]);
    return { code: Number(process.exitCode ?? 0), errors, stdout };
  } catch (thrown) {
    return { code: Number(process.exitCode ?? 0), errors, stdout, thrown: { error: thrown } };
  } finally {
    console.log = log;
    console.error = error;
    process.stdout.write = write;
    process.exitCode = saved;
  }
}

/** `promise` (a `cli` run) fails as a mistake in the command line: exit status 2, `message` printed. */
export async function expectUsageError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await expectRejection(promise, CommanderError, message);
  expect((await promise.catch((e: CommanderError) => e) as CommanderError).exitCode).to.equal(2);
}

/** `promise` rejects with an instance of `type` whose message matches `message`. */
export async function expectRejection(promise: Promise<unknown>, type: new (...args: never[]) => Error, message: RegExp): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, `expected a ${type.name}`).to.be.instanceOf(type);
  expect((err as Error).message).to.match(message);
}
