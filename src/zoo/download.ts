/**
 * Downloading catalogue checkpoints into a cache folder: resumable (HTTP Range on
 * `<file>.partial`), sha256-verified, and moved to the final name by an atomic rename, so
 * a file under the final name is always complete and checked. One download of a file at a
 * time, across processes too (`<file>.lock`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import lockfile, { type LockOptions } from 'proper-lockfile';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeFolders } from '../io/atomic.js';
import { isManual, ZooError, type ManualEntry, type ZooEntry } from './catalog.js';
import { optionsProblem, shownValue, typeName } from '../values.js';

export { ZooError } from './catalog.js';

/** Byte counts of a running download, for a progress display. */
export interface DownloadProgress {
  /** Bytes in the partial file so far, resumed bytes included. */
  received: number;
  /** Size of the whole file, when the server tells it. */
  total?: number;
  /** Bytes already present when the current request started (for a transfer rate). */
  requestStart: number;
}

export interface FetchWeightsOptions {
  /** Cache folder; default {@link defaultCacheDir}. */
  cacheDir?: string | undefined;
  onProgress?: ((progress: DownloadProgress) => void) | undefined;
  /** Fetch from `<baseUrl>/<fileName>` instead of the entry's URL (a mirror, or a test server). */
  baseUrl?: string | undefined;
  /** Replaces the global `fetch` (proxies, tests). */
  fetchImpl?: typeof fetch | undefined;
  /** Further requests after an interrupted transfer, each resuming where the last stopped: an integer ≥ 0. Default 3. */
  retries?: number | undefined;
  /** Wait before retry n (1-based) is n times this, in milliseconds ≥ 0 (the last wait at most 2^31 - 1). Default 1000. */
  retryDelayMs?: number | undefined;
  /** Called when another process (or call) is downloading the same file: this one waits for it to end. */
  onWait?: ((lockPath: string) => void) | undefined;
}

/**
 * A download's lock whose time stamp has not been refreshed for this long is taken over: its
 * process was killed without removing it. The holder refreshes it every half of this.
 */
const STALE_LOCK_MS = 30_000;

/** `$HIGHER_POSE_CACHE`, else `~/.cache/higher-pose`. */
export function defaultCacheDir(): string {
  return process.env.HIGHER_POSE_CACHE || join(homedir(), '.cache', 'higher-pose');
}

/** Where `entry` lives once fetched (or where to save a manual download). */
export function cachedPath(entry: ZooEntry, cacheDir = defaultCacheDir()): string {
  return join(cacheDir, entry.fileName);
}

/** Where `entry`'s download is kept while it comes (`<file>.partial`): a run stopped part-way resumes from it. */
export function partialDownloadPath(entry: ZooEntry, cacheDir = defaultCacheDir()): string {
  return `${cachedPath(entry, cacheDir)}.partial`;
}

/** Hex sha256 of a file. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Path of the verified checkpoint for `entry` in the cache, downloading it first if needed.
 * Manual-download entries are only looked up: a ZooError says where to get the file and
 * where to put it.
 */
export async function fetchWeights(entry: ZooEntry, options: FetchWeightsOptions = {}): Promise<string> {
  checkFetchArguments(entry, options);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const target = cachedPath(entry, cacheDir);
  makeCacheDir(cacheDir);
  let removed: ZooError | undefined;
  const onRemoved = (error: ZooError) => void (removed = error);
  if (await isVerifiedFile(entry, target, onRemoved)) return target;
  if (isManual(entry)) throw manualDownloadError(entry, target);

  const lock = await lockDownload(target, options.onWait);
  try {
    // Another process may have completed it while this one waited.
    if (await isVerifiedFile(entry, target, onRemoved)) return target;
    const partial = partialDownloadPath(entry, cacheDir);
    try {
      await downloadWithRetries(sourceUrl(entry.url, entry.fileName, options.baseUrl), partial, target, options);
    } catch (error) {
      // Offline, the file saved by hand as the error asks must not vanish without a word.
      if (removed && error instanceof ZooError) error.message += ` The file that was under that name was removed: ${removed.message}.`;
      throw error;
    }
    await verifyChecksum(entry, partial);
    lock.assertHeld();
    await rename(partial, target);
    return target;
  } finally {
    await lock.release();
  }
}

/** Every option `fetchWeights` reads, for refusing the others (a misspelt `cachedir` would download into the default folder). */
const FETCH_OPTION_NAMES: Record<keyof FetchWeightsOptions, true> = {
  cacheDir: true, onProgress: true, baseUrl: true, fetchImpl: true, retries: true, retryDelayMs: true, onWait: true,
};

/** The longest wait a timer takes, in milliseconds: a longer one ends at once (Node warns TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A ZooError where `entry` is no catalogue entry (a model's name given for it: a TypeError from inside before), the options are
 * no object or hold an unknown name, or one of the wrong kind or range: before, NaN or Infinity retries asked again at once for ever,
 * a function that was none failed each attempt as a download that broke, and a cacheDir '' downloaded into the working folder.
 */
function checkFetchArguments(entry: ZooEntry, options: FetchWeightsOptions): void {
  if (typeof entry === 'string') throw new ZooError(`fetchWeights: entry must be a catalogue entry, got the name ${JSON.stringify(entry)}: findEntry(name) gives its entry`);
  if (typeof entry !== 'object' || entry === null || typeof entry.fileName !== 'string') {
    throw new ZooError(`fetchWeights: entry must be a catalogue entry (findEntry(name), or one of ZOO), got ${typeName(entry)}`);
  }
  const problem = optionsProblem(options, FETCH_OPTION_NAMES);
  if (problem) throw new ZooError(`fetchWeights: ${problem}`);
  const bad = (what: string, got: unknown): never => {
    throw new ZooError(`fetchWeights: ${what}, got ${typeof got === 'function' ? 'a function' : shownValue(got)}`);
  };
  const { cacheDir, baseUrl, retries = 3, retryDelayMs = 1000 } = options;
  if (cacheDir !== undefined && !(typeof cacheDir === 'string' && cacheDir !== '')) bad('cacheDir must be a folder path (a non-empty string)', cacheDir);
  const isWebUrl = (url: string) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol);
  if (baseUrl !== undefined && !(typeof baseUrl === 'string' && isWebUrl(baseUrl))) bad('baseUrl must be the http:// or https:// URL of the folder holding the file', baseUrl);
  for (const name of ['fetchImpl', 'onProgress', 'onWait'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') bad(`${name} must be a function`, options[name]);
  }
  if (!(Number.isSafeInteger(retries) && retries >= 0)) bad('retries must be an integer ≥ 0 (further requests after an interrupted transfer)', retries);
  if (!(typeof retryDelayMs === 'number' && retryDelayMs >= 0 && Number.isFinite(retryDelayMs))) bad('retryDelayMs must be a number of milliseconds ≥ 0', retryDelayMs);
  if (retries * retryDelayMs > MAX_TIMER_MS) {
    throw new ZooError(`fetchWeights: the wait before the last retry, retries × retryDelayMs = ${retries} × ${retryDelayMs} ms, is over the longest a timer takes (${MAX_TIMER_MS} ms, 24.8 days)`);
  }
}

/**
 * Creates the cache folder, kept when the fetch fails (it says to save the file there by hand); one
 * that cannot be made (a file in the way, no permission) is a ZooError naming it.
 */
function makeCacheDir(cacheDir: string): void {
  try {
    makeFolders(cacheDir, { keptOnFailure: true });
  } catch (error) {
    throw new ZooError(`Cannot use ${cacheDir} as the weights cache folder (${errorText(error)}); choose another with --cache-dir or $HIGHER_POSE_CACHE`, { cause: error });
  }
}

/**
 * Takes `<target>.lock`, waiting while another process or call holds it: two downloads into
 * one partial file would interleave their bytes.
 */
async function lockDownload(target: string, onWait: FetchWeightsOptions['onWait']): Promise<{ assertHeld(): void; release(): Promise<void> }> {
  const lockPath = `${target}.lock`;
  let lost: Error | undefined;
  const options = {
    realpath: false,
    lockfilePath: lockPath,
    stale: STALE_LOCK_MS,
    // The default throws from a timer; the download reports it instead.
    onCompromised: (error: Error) => void (lost = error),
  };
  const held = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ELOCKED';
  const acquire = (retries?: LockOptions['retries']) => lockfile.lock(target, { ...options, retries }).catch((error: unknown) => {
    throw held(error) ? error : new ZooError(`Cannot lock ${lockPath}: ${errorText(error)}`, { cause: error });
  });
  const release = await acquire().catch(async (error: unknown) => {
    if (!held(error)) throw error;
    onWait?.(lockPath);
    return acquire({ forever: true, minTimeout: 200, maxTimeout: 2000 });
  });
  return {
    assertHeld: () => {
      if (lost) throw new ZooError(`The download lock ${lockPath} was lost (${lost.message}): another process may have written to the same file. Run the command again.`, { cause: lost });
    },
    release: () => (lost ? Promise.resolve() : release()),
  };
}

/** True if `path` exists and matches the entry's checksum (if it has one). A corrupt file is removed (`onRemoved` says why). */
async function isVerifiedFile(entry: ZooEntry, path: string, onRemoved: (error: ZooError) => void): Promise<boolean> {
  if (!(await fileSize(path))) return false;
  if (!expectedDigest(entry)) return true;
  const actual = await sha256File(path);
  if (digestMatches(entry, actual)) return true;
  // A manual download under the cache name is the user's file: report it rather than delete it.
  if (isManual(entry)) throw checksumError(entry, path, actual);
  await rm(path, { force: true });
  onRemoved(checksumError(entry, path, actual));
  return false;
}

function sourceUrl(url: string, fileName: string, baseUrl?: string): string {
  return baseUrl ? new URL(encodeURIComponent(fileName), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href : url;
}

function manualDownloadError(entry: ManualEntry, target: string): ZooError {
  const pages = entry.manualDownload.pages.map((page) => `  - ${page.label}: ${page.url}`);
  const lines = [
    `${entry.name} has no direct download URL. Download ${entry.fileName} by hand from:`,
    ...pages,
    ...(entry.manualDownload.instructions ? [entry.manualDownload.instructions] : []),
    ...(entry.note ? [`Note: ${entry.note}`] : []),
    `Then save it as ${target} (or pass --weights PATH to use it from elsewhere).`,
  ];
  return new ZooError(lines.join('\n'));
}

/** Size of a file in bytes, 0 when it does not exist. */
async function fileSize(path: string): Promise<number> {
  let stats;
  try {
    stats = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  if (!stats.isFile()) throw new ZooError(`${path} is not a file (a folder?): move it away, so that the checkpoint can be saved there`);
  return stats.size;
}

/** A transfer that may succeed when resumed: dropped connection, short body, server hiccup. */
class TransientDownloadError extends Error {
  override name = 'TransientDownloadError';
}

async function downloadWithRetries(url: string, partial: string, target: string, options: FetchWeightsOptions): Promise<void> {
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      return await downloadOnce(url, partial, options);
    } catch (error) {
      // ZooErrors (404, bad Content-Range...) will not go away by asking again.
      if (error instanceof ZooError) throw error;
      if (attempt >= retries) {
        const kept = await fileSize(partial);
        const next = kept > 0 ? `${kept} bytes are kept in ${partial}; run the command again to resume` : 'Run the command again to retry';
        // Offline machines: the file can come from elsewhere, and is checked when fetched again.
        const byHand = `or download ${url} by hand and save it as ${target} (the next fetch verifies its checksum)`;
        throw new ZooError(`Download of ${url} failed after ${attempt + 1} attempt(s): ${errorText(error)}. ${next}, ${byHand}.`, { cause: error });
      }
      await sleep((attempt + 1) * (options.retryDelayMs ?? 1000));
    }
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch reports socket problems as "terminated" / "fetch failed" with the reason in `cause`.
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

/** One request: resume the partial file from its size, or restart it if the server ignores Range. */
async function downloadOnce(url: string, partial: string, options: FetchWeightsOptions): Promise<void> {
  const offset = await fileSize(partial);
  const response = await (options.fetchImpl ?? fetch)(url, {
    // identity: byte offsets and Content-Length must count the file's bytes, not a compressed stream.
    headers: { 'Accept-Encoding': 'identity', ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) },
    redirect: 'follow',
  });
  if (offset > 0 && response.status === 416 && unsatisfiedRangeTotal(response) === offset) {
    // The partial file is already whole: a run stopped between the transfer and its checksum.
    await response.body?.cancel();
    return;
  }
  const start = await startOffset(response, offset, partial, url);
  const total = totalSize(response, start);
  await appendBody(response, partial, start, total, options.onProgress);
  const size = await fileSize(partial);
  if (total !== undefined && size !== total) {
    throw new TransientDownloadError(`connection closed after ${size} of ${total} bytes`);
  }
}

/**
 * Byte offset in the file at which the response body starts, checking the status: 0 for a
 * 200 (the whole file: the server ignored Range, or nothing was asked), `offset` for a 206.
 */
async function startOffset(response: Response, offset: number, partial: string, url: string): Promise<number> {
  if (response.status === 200) return 0;
  if (response.status === 206 && contentRange(response)?.start === offset) return offset;
  await response.body?.cancel();
  if (response.status === 206 || response.status === 416) {
    // A range we did not ask for, or the partial file is no prefix of the server's file: start over.
    await rm(partial, { force: true });
    throw new TransientDownloadError(`${url}: HTTP ${response.status} for Range bytes=${offset}- (Content-Range ${response.headers.get('content-range')})`);
  }
  const message = `${url}: HTTP ${response.status} ${response.statusText}`;
  if (response.status >= 500 || response.status === 429) throw new TransientDownloadError(message);
  throw new ZooError(message);
}

/** `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`). */
function contentRange(response: Response): { start: number; total?: number } | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[2] === '*' ? undefined : Number(match[2]) };
}

/** The file size in the `Content-Range: bytes *\/TOTAL` of a 416 (range not satisfiable). */
function unsatisfiedRangeTotal(response: Response): number | undefined {
  const match = /^bytes \*\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
  return match ? Number(match[1]) : undefined;
}

function totalSize(response: Response, start: number): number | undefined {
  const fromRange = response.status === 206 ? contentRange(response)?.total : undefined;
  if (fromRange !== undefined) return fromRange;
  const length = response.headers.get('content-length');
  return length === null ? undefined : start + Number(length);
}

async function appendBody(
  response: Response,
  partial: string,
  start: number,
  total: number | undefined,
  onProgress: FetchWeightsOptions['onProgress'],
): Promise<void> {
  if (!response.body) throw new TransientDownloadError('response has no body');
  let received = start;
  onProgress?.({ received, total, requestStart: start });
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      onProgress?.({ received, total, requestStart: start });
      done(null, chunk);
    },
  });
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  await pipeline(body, counter, createWriteStream(partial, { flags: start > 0 ? 'a' : 'w' }));
}

function expectedDigest(entry: ZooEntry): string | undefined {
  return (entry.sha256 ?? entry.sha256Prefix)?.toLowerCase();
}

function digestMatches(entry: ZooEntry, actual: string): boolean {
  const expected = expectedDigest(entry);
  return expected === undefined || (entry.sha256 ? actual === expected : actual.startsWith(expected));
}

function checksumError(entry: ZooEntry, path: string, actual: string): ZooError {
  const kind = entry.sha256 ? 'sha256' : 'sha256 prefix';
  return new ZooError(`Checksum mismatch for ${entry.name} (${path}): expected ${kind} ${expectedDigest(entry)}, got sha256 ${actual}`);
}

/** Checks the downloaded partial file; a mismatch deletes it, so the next run starts clean. */
async function verifyChecksum(entry: ZooEntry, partial: string): Promise<void> {
  const actual = await sha256File(partial);
  if (digestMatches(entry, actual)) return;
  await rm(partial, { force: true });
  const error = checksumError(entry, partial, actual);
  error.message += '. The download was deleted.';
  throw error;
}
