/**
 * `higher-pose weights list` and `higher-pose weights fetch NAME [--cache-dir DIR]`: the
 * model zoo from the command line. Tables and paths go to the command's stdout writer,
 * the progress bar to stderr, so `$(higher-pose weights fetch NAME)` captures the path.
 */
import { existsSync, statSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { findEntry, inputSizeHint, isManual, ZOO, ZooError, type ZooEntry } from '../../zoo/catalog.js';
import { cachedPath, defaultCacheDir, fetchWeights, partialDownloadPath, type DownloadProgress } from '../../zoo/download.js';
import { checkOutputFolder, usageError, usageMistake } from '../options.js';
import { stoppedAtOnceOnSignal } from '../interrupted.js';

/**
 * `--cache-dir`: an empty one (`--cache-dir "$DIR"`, DIR unset) is a usage error naming the option, for
 * every subcommand: `list` showed the working folder as the cache, `fetch` failed in the API's words.
 */
function parseCacheDir(value: string): string {
  if (value === '') throw new InvalidArgumentError('expected a folder path, got an empty one (leave the option out for $HIGHER_POSE_CACHE or ~/.cache/higher-pose)');
  return value;
}

const addCacheDirOption = (command: Command): Command => command.option('--cache-dir <dir>', 'cache folder (default: $HIGHER_POSE_CACHE or ~/.cache/higher-pose)', parseCacheDir);

export function registerWeights(program: Command): void {
  const weights = program.command('weights').description('list and download published HigherHRNet checkpoints');
  addCacheDirOption(weights.command('list'))
    .description('list the published checkpoints and whether they are in the cache')
    .action((options: { cacheDir?: string }, command: Command) => {
      write(command, zooTable(options.cacheDir ?? defaultCacheDir()));
    });
  addCacheDirOption(weights.command('fetch'))
    .description('download a checkpoint into the cache (verifying its checksum) and print its path')
    .argument('<name>', 'catalogue name, see `higher-pose weights list`')
    .action(async (name: string, options: { cacheDir?: string }, command: Command) => {
      const entry = zooEntry(command, name);
      // $HIGHER_POSE_CACHE is set by the user as the option is typed: a file in its way is their mistake too.
      const named = options.cacheDir !== undefined ? '--cache-dir' : process.env.HIGHER_POSE_CACHE ? '$HIGHER_POSE_CACHE' : undefined;
      if (named) await checkOutputFolder(options.cacheDir ?? defaultCacheDir(), named, 'weights fetch needs a folder (for the weights cache)', usageMistake(command));
      const path = await fetchWithProgressBar(entry, options.cacheDir);
      write(command, `${path}\n`);
      const hint = inputSizeHint(entry);
      if (hint) command.configureOutput().writeErr?.(`${hint}\n`);
    });
}

/** The catalogue entry named `name`; a name not in it is a mistake in what was typed (exit 2), as an unknown --preset is. */
function zooEntry(command: Command, name: string): ZooEntry {
  try {
    return findEntry(name);
  } catch (error) {
    if (error instanceof ZooError) usageError(command, error.message);
    throw error;
  }
}

/** Writes through commander's output configuration, so callers (and tests) can redirect it. */
function write(command: Command, text: string): void {
  const writeOut = command.configureOutput().writeOut ?? ((str: string) => process.stdout.write(str));
  writeOut(text);
}

function zooTable(cacheDir: string): string {
  const header = ['NAME', 'PRESET', 'INPUT', 'NAMING', 'SIZE', 'CACHED', 'SOURCE'];
  const rows = ZOO.map((entry) => [
    entry.name,
    entry.preset,
    String(entry.inputSize),
    entry.naming,
    entry.size === undefined ? '?' : formatBytes(entry.size),
    existsSync(cachedPath(entry, cacheDir)) ? 'yes' : 'no',
    source(entry),
  ]);
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column].length)));
  const lines = [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  return `${lines.join('\n')}\nCache: ${cacheDir}\n`;
}

function source(entry: ZooEntry): string {
  return isManual(entry) ? 'manual download (Google Drive / OneDrive)' : new URL(entry.url).host;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** fetchWeights with a bar (bytes, speed, ETA) on stderr; cli-progress draws nothing when stderr is no terminal. */
async function fetchWithProgressBar(entry: ZooEntry, cacheDir: string | undefined): Promise<string> {
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | {done} / {size} | {speed} | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const tracker = rateTracker();
  let started = false;
  // Ctrl-C or kill stops it at once, saying what is kept to resume from; the bar is ended first, to show the cursor it hid again.
  const stopWatching = stoppedAtOnceOnSignal(() => {
    if (started) bar.stop();
    return keptDownload(partialDownloadPath(entry, cacheDir ?? defaultCacheDir()));
  });
  try {
    return await fetchWeights(entry, {
      cacheDir,
      onWait: (lockPath) => process.stderr.write(`Another download of ${entry.fileName} is running; waiting for it to end (lock: ${lockPath})\n`),
      onProgress: (progress) => {
        const payload = { done: formatBytes(progress.received), size: sizeText(progress), speed: tracker(progress) };
        const total = progress.total ?? progress.received;
        if (!started) bar.start(total, progress.received, payload);
        else bar.setTotal(total);
        bar.update(progress.received, payload);
        started = true;
      },
    });
  } finally {
    stopWatching();
    if (started) bar.stop();
  }
}

/** What a stopped download leaves: the bytes in its partial file, which the next fetch resumes from. */
function keptDownload(partial: string): string {
  const kept = statSync(partial, { throwIfNoEntry: false })?.size ?? 0;
  return kept > 0 ? `${kept} bytes are kept in ${partial}; run the same command again to resume` : 'nothing was downloaded; run the same command again to start over';
}

function sizeText(progress: DownloadProgress): string {
  return progress.total === undefined ? '?' : formatBytes(progress.total);
}

/** Transfer rate of the current request (resumed bytes do not count as transferred now). */
function rateTracker(): (progress: DownloadProgress) => string {
  let startedAt = 0;
  return (progress) => {
    // Each request reports once before its first chunk, with nothing received yet.
    if (progress.received === progress.requestStart) startedAt = performance.now();
    const seconds = (performance.now() - startedAt) / 1000;
    return seconds > 0 ? `${formatBytes((progress.received - progress.requestStart) / seconds)}/s` : '-';
  };
}
