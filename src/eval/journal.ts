/**
 * The benchmark's resume journal: a header line identifying the run, then one JSON line per
 * finished image, each fsynced, so that a run killed at any point loses at most the image in
 * progress and a restart skips everything already written.
 */
import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeFolders } from '../io/atomic.js';
import type { KeypointResult } from './data.js';
import { EvalError } from './errors.js';
import { shownValue } from '../values.js';

export type JournalEntry =
  | { imageId: number; status: 'ok'; /** Wall time of the estimate call. */ ms: number; results: KeypointResult[] }
  | { imageId: number; status: 'missing' | 'failed'; error: string };

/** What a journal belongs to; a journal whose header differs is refused instead of mixed in. */
export interface JournalHeader {
  annotationsSha256: string;
  dataset: string;
  /** The caller's estimator settings (JSON), so results of different models never mix. */
  settings: unknown;
}

/** The `format` of a journal's header line, without its version. */
const FORMAT_FAMILY = 'higher-pose-eval-journal/';
const FORMAT = `${FORMAT_FAMILY}1`;
/** How every journal, of any format version, begins. */
const MARK = `{"format":"${FORMAT_FAMILY}`;

/** Whether `value` (a JSON line read) is a journal's header line, of any format version. */
export function isJournalHeader(value: unknown): boolean {
  const format = (value as { format?: unknown } | null)?.format;
  return typeof format === 'string' && format.startsWith(FORMAT_FAMILY);
}

/**
 * Whether `text` is (the start of) a journal: a file that holds anything else is someone's data
 * (a mistyped --journal naming the annotations, an image), never truncated into a journal.
 */
function isJournalText(text: string): boolean {
  return text.startsWith(MARK) || MARK.startsWith(text);
}

function isEntry(v: unknown): v is JournalEntry {
  if (v === null || typeof v !== 'object') return false;
  const e = v as Record<string, unknown>;
  if (typeof e.imageId !== 'number') return false;
  if (e.status === 'ok') return typeof e.ms === 'number' && Array.isArray(e.results);
  return (e.status === 'missing' || e.status === 'failed') && typeof e.error === 'string';
}

/**
 * The lines of the file at `path` that end with a newline, each with the file's length up to its
 * end; a last line without one is a write the previous run did not finish, left out. Read piece by
 * piece: a journal can outgrow the longest string (~512 MiB), which reading it whole would need.
 */
async function* completeLines(path: string): AsyncGenerator<{ line: string; end: number }> {
  let unfinished: Buffer[] = [];
  let chunkStart = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, newline);
      const line = unfinished.length === 0 ? piece : Buffer.concat([...unfinished, piece]);
      unfinished = [];
      yield { line: line.toString('utf8'), end: chunkStart + newline + 1 };
      start = newline + 1;
    }
    if (start < chunk.length) unfinished.push(chunk.subarray(start));
    chunkStart += chunk.length;
  }
}

/** `settings` without the keys `ignored`, when it is an object (a copy, its keys in their order); any other value as it is. */
function withoutKeys(settings: unknown, ignored: readonly string[]): unknown {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) return settings;
  return Object.fromEntries(Object.entries(settings).filter(([key]) => !ignored.includes(key)));
}

/** A journal's header line as JSON, its settings without the keys `ignored`: those of one run are equal. */
function comparedHeader(header: Record<string, unknown>, ignored: readonly string[]): string {
  return JSON.stringify({ ...header, settings: withoutKeys(header.settings, ignored) });
}

/**
 * What sets the run of a journal's header line apart from the run `header` describes, in words; and whether its
 * settings do, which given again resume it. Undefined when it is the same run: settings `ignored` may differ.
 */
function runDifference(line: string, header: JournalHeader, ignored: readonly string[]): { difference: string; settingsDiffer: boolean } | undefined {
  const written = asRecord(parseOrUndefined(line));
  if (comparedHeader(written, ignored) === comparedHeader({ format: FORMAT, ...header }, ignored)) return undefined;
  if (written.format !== FORMAT) return { difference: 'written by another version of higher-pose', settingsDiffer: false };
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  const reasons: string[] = [];
  if (written.annotationsSha256 !== header.annotationsSha256) reasons.push('another annotation file, or this one changed since');
  const [settingsBefore, settingsNow] = [withoutKeys(written.settings, ignored), withoutKeys(header.settings, ignored)];
  const settingsDiffer = differs(settingsBefore, settingsNow);
  if (settingsDiffer) {
    const [before, now] = [asRecord(settingsBefore), asRecord(settingsNow)];
    const changed = [...new Set([...Object.keys(before), ...Object.keys(now)])].filter((k) => differs(before[k], now[k]));
    reasons.push(`other estimator settings${changed.length > 0 ? `: ${changed.map((k) => settingChange(k, before[k], now[k])).join(', ')}` : ''}`);
  }
  return { difference: reasons.join('; ') || 'its header differs', settingsDiffer };
}

/** The longest setting value a difference shows: a flag, a number, a short list (digests are named only). */
const SHOWN_SETTING_LENGTH = 24;

/**
 * A setting that differs, with the journal's value and this run's where they are short: which
 * option to give again, and its value, to resume the run (`--detection-threshold`'s, say); JSON leaves out an option not given.
 */
function settingChange(key: string, before: unknown, now: unknown): string {
  const [was, is] = [before, now].map((v) => (v === undefined ? 'not given' : shownValue(v)));
  return was!.length > SHOWN_SETTING_LENGTH || is!.length > SHOWN_SETTING_LENGTH ? key : `${key} (the journal's ${was}, now ${is})`;
}

/** The JSON value of `line`; undefined when it is no JSON. */
export function parseOrUndefined(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

/**
 * The entries of the journal at `path`, and its length up to the last complete line (0: no line
 * yet); a journal of another run is refused, its settings `ignored` left out of the comparison.
 */
async function readJournal(path: string, header: JournalHeader, ignored: readonly string[]): Promise<{ entries: Map<number, JournalEntry>; validLength: number }> {
  // A later line for the same image (a retried failure) replaces the earlier one.
  const entries = new Map<number, JournalEntry>();
  let validLength = 0;
  let lineNumber = 0;
  for await (const { line, end } of completeLines(path)) {
    lineNumber++;
    if (lineNumber === 1) {
      const other = runDifference(line, header, ignored);
      if (other) {
        const { difference, settingsDiffer } = other;
        const resume = settingsDiffer ? 'run with the settings it was written with to resume it, or ' : '';
        throw new EvalError(`${path} is the journal of a different run (${difference}); ${resume}delete it or choose another journal path`);
      }
    } else {
      const entry = parseOrUndefined(line);
      if (!isEntry(entry)) throw new EvalError(`${path}:${lineNumber} is not a valid journal line; delete the journal to start over`);
      entries.set(entry.imageId, entry);
    }
    validLength = end;
  }
  return { entries, validLength };
}

/** The first `length` bytes of the file at `path` as text; '' when there is no file. */
async function fileStart(path: string, length: number): Promise<string> {
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!handle) return '';
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

export class Journal {
  private constructor(readonly path: string, private readonly handle: FileHandle) {}

  /**
   * Opens (creating if needed) the journal at `path` and returns the entries already recorded. The
   * settings `ignored` (keys of `header.settings`) are not written, and a journal written while they
   * were is resumed whatever their values.
   */
  static async open(path: string, header: JournalHeader, ignored: readonly string[] = []): Promise<{ journal: Journal; entries: Map<number, JournalEntry> }> {
    makeFolders(dirname(path));
    const cannotRead = (err: NodeJS.ErrnoException) => new EvalError(`Cannot read journal ${path}: ${err.message}`);
    const start = await fileStart(path, MARK.length).catch((err: NodeJS.ErrnoException) => {
      throw cannotRead(err);
    });
    if (!isJournalText(start)) throw new EvalError(`${path} is not an eval journal (it holds other data, left untouched); choose another journal path`);
    const { entries, validLength } = start === '' ? { entries: new Map<number, JournalEntry>(), validLength: 0 } : await readJournal(path, header, ignored).catch((err: unknown) => {
      throw err instanceof EvalError ? err : cannotRead(err as NodeJS.ErrnoException);
    });
    const handle = await open(path, 'a+');
    const journal = new Journal(path, handle);
    await handle.truncate(validLength);
    if (validLength === 0) await journal.writeLine({ format: FORMAT, ...header, settings: withoutKeys(header.settings, ignored) });
    return { journal, entries };
  }

  /** Appends one image's entry and forces it to disk before returning. */
  async append(entry: JournalEntry): Promise<void> {
    await this.writeLine(entry);
  }

  private async writeLine(value: unknown): Promise<void> {
    await this.handle.write(`${JSON.stringify(value)}\n`);
    await this.handle.sync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** Deletes the journal once its content lives in the results file. */
  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
