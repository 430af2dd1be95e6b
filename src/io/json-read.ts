/**
 * A JSON array file (or JSON Lines) read back one value at a time, in one pass: results of any
 * size, as `json-array.ts` writes them, without one string of the whole file (V8's ~512 MiB
 * string limit) or every value held at once.
 */
import { fstatSync } from 'node:fs';
import { openToRead, ReadBoundError, readWaiting, refuseDevice, sizeText } from './read-bounded.js';

/** A line of a JSON Lines file that is no JSON value. */
export class JsonLineError extends SyntaxError {
  override name = 'JsonLineError';

  constructor(readonly line: number, options: ErrorOptions & { cause: Error }) {
    super(`line ${line}: ${options.cause.message}`, options);
  }
}

/** A file that holds no JSON value: nothing, or only whitespace (JSON Lines of no line, as a writer of none leaves them). */
export class EmptyTextError extends SyntaxError {
  override name = 'EmptyTextError';

  constructor() {
    super('the file is empty');
  }
}

/** A file that is not UTF-8 text, as its first bytes tell: another encoding, or compressed. */
export class NotUtf8Error extends SyntaxError {
  override name = 'NotUtf8Error';
}

/** The byte order marks of the encodings text files come in (Windows' tools write them). */
const BYTE_ORDER_MARKS = [['UTF-8', [0xef, 0xbb, 0xbf]], ['UTF-16LE', [0xff, 0xfe]], ['UTF-16BE', [0xfe, 0xff]]] as const;

/** What JSON files are shipped in (COCO's annotations come zipped), by their first bytes, and what to do. */
const PACKED = [
  ['gzip-compressed', [0x1f, 0x8b], 'decompress it (gunzip), or give it as <(zcat FILE)'],
  ['a zip archive', [0x50, 0x4b, 0x03], 'extract it (unzip) and give the JSON file inside'],
] as const;

const startsWith = (head: Uint8Array, bytes: readonly number[]): boolean => bytes.every((b, i) => head[i] === b);

/**
 * Where the UTF-8 text that `head` (a file's first bytes, three or all) begins: after a UTF-8 byte
 * order mark, which JSON.parse would take for a character. A UTF-16 one, or a compressed file,
 * is a NotUtf8Error saying what to do.
 */
export function utf8TextStart(head: Uint8Array): number {
  const packed = PACKED.find(([, bytes]) => startsWith(head, bytes));
  if (packed !== undefined) throw new NotUtf8Error(`is ${packed[0]}: ${packed[2]}`);
  const mark = BYTE_ORDER_MARKS.find(([, bytes]) => startsWith(head, bytes));
  if (mark === undefined) return 0;
  if (mark[0] !== 'UTF-8') throw new NotUtf8Error(`is ${mark[0]} text (its byte order mark); it is read as UTF-8: convert it (iconv -f ${mark[0]} -t UTF-8)`);
  return mark[1].length;
}

/**
 * The bytes of the file at `path`, `chunkBytes` at a time (a buffer reused from one to the next),
 * after a UTF-8 byte order mark; read from the current position, so that a pipe is read too
 * (`eval --results <(zcat results.json.gz)`). A device (`/dev/zero`, a terminal) is a ReadBoundError.
 */
function* utf8Chunks(path: string, chunkBytes: number): Generator<Buffer, void, undefined> {
  const { fd, close } = openToRead(path);
  try {
    refuseDevice(fstatSync(fd));
    // Enough bytes for a byte order mark, however few a pipe gives at a time.
    const head = Buffer.alloc(3);
    let headLength = 0;
    for (let read = -1; read !== 0 && headLength < head.length; ) {
      read = readWaiting(fd, head, headLength, head.length - headLength);
      headLength += read;
    }
    for (let from = utf8TextStart(head.subarray(0, headLength)); from < headLength; from += chunkBytes) yield head.subarray(from, Math.min(from + chunkBytes, headLength));
    const chunk = Buffer.alloc(chunkBytes);
    for (;;) {
      const length = readWaiting(fd, chunk, 0, chunkBytes);
      if (length === 0) return;
      yield chunk.subarray(0, length);
    }
  } finally {
    close();
  }
}

const BYTE = { space: 0x20, tab: 0x09, newline: 0x0a, return: 0x0d, comma: 0x2c, quote: 0x22, backslash: 0x5c, openBracket: 0x5b, closeBracket: 0x5d, openBrace: 0x7b, closeBrace: 0x7d } as const;

const isWhitespace = (b: number): boolean => b === BYTE.space || b === BYTE.newline || b === BYTE.return || b === BYTE.tab;

/** Whether a JSON value can begin with byte `b`: an array, an object, a string, a number, true, false or null. */
const startsJsonValue = (b: number): boolean => b === BYTE.openBracket || b === BYTE.openBrace || b === BYTE.quote || b === 0x2d || (b >= 0x30 && b <= 0x39) || b === 0x74 || b === 0x66 || b === 0x6e;

/** `b` as a message shows it: a printable ASCII character in quotes, else its code. */
const byteText = (b: number): string => (b > 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`);

/**
 * A file read as a list of JSON values holds one value of another kind: an object over several
 * lines (an annotation file given by mistake), a number, a string. It was read whole: `value`.
 */
export class OneJsonValueError extends Error {
  override name = 'OneJsonValueError';

  constructor(readonly value: unknown) {
    super('holds one JSON value, neither an array nor JSON Lines');
  }
}

/**
 * The most text one JSON value is read from: JSON.parse takes one string, and V8's longest is
 * 24 characters short of 512 MiB. A pipe giving a value that never ends (`<(cat /dev/zero)`,
 * `<(yes)`) is read no further.
 */
export const JSON_VALUE_MAX_BYTES = 2 ** 29;

/** The ReadBoundError for a value, `what`, whose text goes on past `maxBytes`. */
const valueTooLong = (what: string, maxBytes: number): ReadBoundError => new ReadBoundError('size', `${what} goes on past ${sizeText(maxBytes)}, the longest JSON value read`);

/**
 * Copies of the bytes of a value being read, a chunk's worth at a time, up to `maxBytes`; past it
 * a ReadBoundError naming the value (its name made only then: `what`).
 */
class ValueBytes {
  private pieces: Buffer[] = [];
  private length = 0;

  constructor(private readonly maxBytes: number) {}

  get isEmpty(): boolean {
    return this.pieces.length === 0;
  }

  /** Keeps a copy of `bytes`, the value's next. */
  add(bytes: Buffer, what: () => string): void {
    this.checkLength(this.length + bytes.length, what);
    this.length += bytes.length;
    this.pieces.push(Buffer.from(bytes));
  }

  /** The value's bytes: those kept, then `last`; the kept ones are let go. */
  take(last: Buffer, what: () => string): Buffer {
    this.checkLength(this.length + last.length, what);
    const bytes = this.pieces.length === 0 ? last : Buffer.concat([...this.pieces, last]);
    this.pieces = [];
    this.length = 0;
    return bytes;
  }

  private checkLength(length: number, what: () => string): void {
    if (length > this.maxBytes) throw valueTooLong(what(), this.maxBytes);
  }
}

/** Reads the text of one layout as it comes, chunk by chunk; a chunk is reused once read, so what goes on past it is copied. */
interface LayoutReader {
  /** The values that end in `chunk`, which begins `offset` bytes into the text. */
  read(chunk: Buffer, offset: number): Generator<unknown, void, undefined>;
  /** The values left when the text ends; a SyntaxError when it ends inside one. */
  end(): Generator<unknown, void, undefined>;
}

/**
 * The values of the JSON text in the file at `path`, parsed one at a time as they are read,
 * `chunkBytes` at a time: a file past the longest string (~512 MiB) cannot be read whole into
 * one. Its first character (after whitespace and a UTF-8 byte order mark) tells the layout: `[`
 * a JSON array, whose elements are the values; `{` JSON Lines (`predict --format jsonl`), a value
 * a line; anything else one JSON value, read whole. The file is read once, from its current
 * position, so that a pipe is read too (`eval --results <(zcat results.jsonl.gz)`).
 *
 * A SyntaxError says where the text goes wrong (a JsonLineError naming the line); a file whose
 * text is one JSON value of another kind (a number, or an object over several lines, whose first
 * line is no JSON) is a OneJsonValueError holding it; one with no value at all an EmptyTextError; a device is a ReadBoundError; a file that
 * cannot be read gives the system's error. A value whose text (an element, a line, the one value,
 * or the whitespace before the first) goes on past `maxValueBytes` is a ReadBoundError naming it.
 */
export function* readJsonValues(path: string, chunkBytes = 1 << 20, maxValueBytes = JSON_VALUE_MAX_BYTES): Generator<unknown, void, undefined> {
  let reader: LayoutReader | undefined;
  // Chunks of whitespace before the first character, copied: given to its reader too (offsets and lines count them).
  const before: Buffer[] = [];
  let beforeBytes = 0;
  let offset = 0;
  for (const chunk of utf8Chunks(path, chunkBytes)) {
    if (reader === undefined) {
      const firstAt = chunk.findIndex((b) => !isWhitespace(b));
      // Counted whatever the chunks: kept, or given to a reader that keeps it (a text read whole).
      beforeBytes += firstAt < 0 ? chunk.length : firstAt;
      if (beforeBytes > maxValueBytes) throw valueTooLong('the whitespace before the first value', maxValueBytes);
      if (firstAt < 0) {
        before.push(Buffer.from(chunk));
        continue;
      }
      const first = chunk[firstAt]!;
      // Refused at once, not read up to the longest value first (a binary file, `<(cat /dev/zero)`, `<(yes)`).
      if (!startsJsonValue(first)) throw new SyntaxError(`the text begins with ${byteText(first)} (at byte ${beforeBytes}), which no JSON value begins with`);
      reader = first === BYTE.openBracket ? new JsonArrayReader(maxValueBytes) : first === BYTE.openBrace ? new JsonLinesReader(maxValueBytes) : new WholeJsonReader(maxValueBytes);
      for (const whitespace of before.splice(0)) {
        yield* reader.read(whitespace, offset);
        offset += whitespace.length;
      }
    }
    yield* reader.read(chunk, offset);
    offset += chunk.length;
  }
  if (reader === undefined) throw new EmptyTextError();
  yield* reader.end();
}

/**
 * A JSON array's elements. Each element's text is given to `JSON.parse`; the array around them
 * (brackets, commas, nothing after it) is checked here. (stream-json, whose tokenizer parses
 * every value itself, took 3x as long on 212 MB of results.)
 */
class JsonArrayReader implements LayoutReader {
  /** Where in the array: before its `[`, expecting an element (or `]` right after `[`), after an element, after its `]`. */
  private place: 'start' | 'value' | 'first value' | 'after value' | 'end' = 'start';
  private count = 0;
  // The element being read: its bytes of earlier chunks, where it began, and what the scan is inside of.
  private readonly pieces: ValueBytes;
  private elementStart = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false;

  constructor(maxValueBytes: number) {
    this.pieces = new ValueBytes(maxValueBytes);
  }

  private readonly element = (): string => `element ${this.count} (from byte ${this.elementStart})`;

  private finish(last: Buffer): unknown {
    const text = this.pieces.take(last, this.element).toString('utf8');
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new SyntaxError(`element ${this.count} (from byte ${this.elementStart}): ${(error as Error).message}`, { cause: error });
    }
  }

  *read(chunk: Buffer, offset: number): Generator<unknown, void, undefined> {
    const { length } = chunk;
    let from = -1; // where the element being read starts in this chunk, when it is being read
    if (this.place === 'after value' && (this.depth > 0 || this.inString || this.scalar)) from = 0;
    for (let i = 0; i < length; i++) {
      const b = chunk[i]!;
      if (from >= 0) {
        // Inside an element: find its end.
        let endsAfter = -1; // index just past the element's last byte, once found
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (b === BYTE.backslash) this.escaped = true;
          else if (b === BYTE.quote) {
            this.inString = false;
            if (this.depth === 0) endsAfter = i + 1;
          }
        } else if (this.scalar) {
          if (isWhitespace(b) || b === BYTE.comma || b === BYTE.closeBracket) {
            this.scalar = false;
            endsAfter = i;
          }
        } else if (b === BYTE.quote) this.inString = true;
        else if (b === BYTE.openBrace || b === BYTE.openBracket) this.depth++;
        else if (b === BYTE.closeBrace || b === BYTE.closeBracket) {
          if (--this.depth === 0) endsAfter = i + 1;
        }
        if (endsAfter < 0) continue;
        const value = this.finish(chunk.subarray(from, endsAfter));
        this.count++;
        from = -1;
        yield value;
        // A scalar ends at the byte after it, which is read again as what follows the element.
        if (endsAfter === i) i--;
        continue;
      }
      if (isWhitespace(b)) continue;
      const at = offset + i;
      if (this.place === 'start') {
        // The `[` that chose this reader.
        this.place = 'first value';
      } else if (this.place === 'after value') {
        if (b === BYTE.comma) this.place = 'value';
        else if (b === BYTE.closeBracket) this.place = 'end';
        else throw new SyntaxError(`expected ',' or ']' after element ${this.count - 1}, found ${JSON.stringify(String.fromCharCode(b))} at byte ${at}`);
      } else if (this.place === 'end') {
        throw new SyntaxError(`unexpected ${JSON.stringify(String.fromCharCode(b))} at byte ${at}, after the array's end`);
      } else if (b === BYTE.closeBracket && this.place === 'first value') {
        this.place = 'end';
      } else if (b === BYTE.closeBracket || b === BYTE.comma) {
        throw new SyntaxError(`expected an element, found ${JSON.stringify(String.fromCharCode(b))} at byte ${at}`);
      } else {
        // An element begins: a container, a string, or a number or literal.
        this.place = 'after value';
        from = i;
        this.elementStart = at;
        this.depth = b === BYTE.openBrace || b === BYTE.openBracket ? 1 : 0;
        this.inString = b === BYTE.quote;
        this.scalar = this.depth === 0 && !this.inString;
      }
    }
    // An element that goes on into the next chunk: its bytes so far, copied (the chunk is reused).
    if (from >= 0) this.pieces.add(chunk.subarray(from, length), this.element);
  }

  *end(): Generator<unknown, void, undefined> {
    if (this.place !== 'end') throw new SyntaxError('the file ends before its array does (cut short?)');
  }
}

/**
 * JSON Lines' values, one a line; blank lines are skipped. A newline never occurs inside a JSON
 * value (strings escape theirs), so the lines are split at the newline bytes. When the first
 * line that is not blank is no JSON value, the text is one value over several lines (or no
 * JSON): it is read whole.
 */
class JsonLinesReader implements LayoutReader {
  /** The bytes of the line being read, of earlier chunks; before the first value, of every line so far (the start of a text read whole). */
  private readonly pieces: ValueBytes;
  private line = 0;
  private values = 0;
  /** Set once the first line that is not blank is no JSON value. */
  private whole: WholeJsonReader | undefined;

  constructor(private readonly maxValueBytes: number) {
    this.pieces = new ValueBytes(maxValueBytes);
  }

  /** The line being read, by its number. */
  private readonly nextLine = (): string => `line ${this.line + 1}`;

  *read(chunk: Buffer): Generator<unknown, void, undefined> {
    if (this.whole) return this.whole.add(chunk);
    let from = 0;
    for (let end = chunk.indexOf(BYTE.newline); end >= 0; end = chunk.indexOf(BYTE.newline, from)) {
      const line = this.lineEnds(chunk.subarray(from, end));
      if (line === 'no JSON') return this.whole!.add(chunk.subarray(end));
      from = end + 1;
      if (line !== 'blank') yield line.value;
    }
    // A line that goes on into the next chunk: its bytes so far, copied (the chunk is reused).
    if (from < chunk.length) this.pieces.add(chunk.subarray(from), this.nextLine);
  }

  *end(): Generator<unknown, void, undefined> {
    // The last line, when no newline ends it.
    const line = this.pieces.isEmpty ? 'blank' : this.lineEnds(Buffer.alloc(0));
    if (typeof line === 'object') yield line.value;
    if (this.whole) yield* this.whole.end();
  }

  /**
   * What the line whose last bytes are `last` holds: its value, nothing, or no JSON, which only
   * the first line that is not blank may be (then `whole` holds the text so far); a later one is a JsonLineError.
   */
  private lineEnds(last: Buffer): { value: unknown } | 'blank' | 'no JSON' {
    const bytes = this.pieces.take(last, this.nextLine);
    this.line++;
    const text = bytes.toString('utf8');
    if (text.trim() === '') {
      if (this.values === 0) {
        this.pieces.add(bytes, this.nextLine);
        this.pieces.add(NEWLINE, this.nextLine);
      }
      return 'blank';
    }
    try {
      const value: unknown = JSON.parse(text);
      this.values++;
      return { value };
    } catch (error) {
      if (this.values > 0) throw new JsonLineError(this.line, { cause: error as Error });
      this.whole = new WholeJsonReader(this.maxValueBytes);
      this.whole.add(bytes);
      return 'no JSON';
    }
  }
}

const NEWLINE = Buffer.from('\n');

/** One JSON value, read whole as JSON.parse reads a file: a OneJsonValueError holding it, or JSON.parse's SyntaxError. */
class WholeJsonReader implements LayoutReader {
  private readonly pieces: ValueBytes;

  constructor(maxValueBytes: number) {
    this.pieces = new ValueBytes(maxValueBytes);
  }

  private readonly value = (): string => 'the one JSON value (neither an array nor JSON Lines)';

  /** Keeps a copy of `bytes`, the text's next. */
  add(bytes: Buffer): void {
    this.pieces.add(bytes, this.value);
  }

  *read(chunk: Buffer): Generator<unknown, void, undefined> {
    this.add(chunk);
  }

  *end(): Generator<unknown, void, undefined> {
    throw new OneJsonValueError(JSON.parse(this.pieces.take(Buffer.alloc(0), this.value).toString('utf8')));
  }
}
