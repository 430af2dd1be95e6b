/**
 * The benchmark's resume journal: a header line identifying the run, then one JSON line per
 * finished image, each fsynced, so that a run killed at any point loses at most the image in
 * progress and a restart skips everything already written.
 */
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeFolders } from '../io/atomic.js';
import type { KeypointResult } from './data.js';
import { EvalError } from './errors.js';

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

const FORMAT = 'higher-pose-eval-journal/1';
/** How every journal, of any format version, begins. */
const MARK = '{"format":"higher-pose-eval-journal/';

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
 * Splits journal text into complete lines. A last line without its newline is a write the
 * previous run did not finish; it is dropped (and the file truncated to `validLength`).
 */
function completeLines(text: string): { lines: string[]; validLength: number } {
  const end = text.lastIndexOf('\n') + 1;
  return { lines: text.slice(0, end).split('\n').slice(0, -1), validLength: Buffer.byteLength(text.slice(0, end)) };
}

/** What sets the run of a journal's header line apart from the run `header` describes, in words. */
function runDifference(line: string, header: JournalHeader): string {
  const written = asRecord(parseOrUndefined(line));
  if (written.format !== FORMAT) return 'written by another version of higher-pose';
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  const reasons: string[] = [];
  if (written.annotationsSha256 !== header.annotationsSha256) reasons.push('another annotation file, or this one changed since');
  if (differs(written.settings, header.settings)) {
    const [before, now] = [asRecord(written.settings), asRecord(header.settings)];
    const changed = [...new Set([...Object.keys(before), ...Object.keys(now)])].filter((k) => differs(before[k], now[k]));
    reasons.push(`other estimator settings${changed.length > 0 ? `: ${changed.join(', ')}` : ''}`);
  }
  return reasons.join('; ') || 'its header differs';
}

function parseOrUndefined(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

function parseJournal(path: string, lines: string[], header: JournalHeader): Map<number, JournalEntry> {
  const expected = JSON.stringify({ format: FORMAT, ...header });
  if (lines[0] !== expected) {
    throw new EvalError(`${path} is the journal of a different run (${runDifference(lines[0]!, header)}); delete it or choose another journal path`);
  }
  // A later line for the same image (a retried failure) replaces the earlier one.
  const entries = new Map<number, JournalEntry>();
  lines.slice(1).forEach((line, i) => {
    const entry = parseOrUndefined(line);
    if (!isEntry(entry)) throw new EvalError(`${path}:${i + 2} is not a valid journal line; delete the journal to start over`);
    entries.set(entry.imageId, entry);
  });
  return entries;
}

export class Journal {
  private constructor(readonly path: string, private readonly handle: FileHandle) {}

  /** Opens (creating if needed) the journal at `path` and returns the entries already recorded. */
  static async open(path: string, header: JournalHeader): Promise<{ journal: Journal; entries: Map<number, JournalEntry> }> {
    makeFolders(dirname(path));
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw new EvalError(`Cannot read journal ${path}: ${err.message}`);
    });
    if (!isJournalText(text)) throw new EvalError(`${path} is not an eval journal (it holds other data, left untouched); choose another journal path`);
    const { lines, validLength } = completeLines(text);
    const handle = await open(path, 'a+');
    const journal = new Journal(path, handle);
    if (lines.length === 0) {
      await handle.truncate(0);
      await journal.writeLine({ format: FORMAT, ...header });
      return { journal, entries: new Map() };
    }
    try {
      const entries = parseJournal(path, lines, header);
      await handle.truncate(validLength);
      return { journal, entries };
    } catch (err) {
      await handle.close();
      throw err;
    }
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
