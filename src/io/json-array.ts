/**
 * The text of a JSON array produced one element at a time, so that results of any size can be
 * written as they come: one string for the whole array fails past V8's ~512 MiB string limit
 * (`RangeError: Invalid string length`), and means holding every element until the end. And
 * such a file read back one element at a time, for the same reason.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * How the array is laid out: `{ indent: n }` is `JSON.stringify(array, null, n)` (n = 0: on one
 * line, as `JSON.stringify(array)`); `'line per element'` puts each element, compact, on its own
 * line between `[` and `]`.
 */
export type JsonArrayLayout = { indent: number } | 'line per element';

/** Piece by piece, the text `JSON.stringify` gives the whole array (in the chosen layout). */
export class JsonArrayText {
  private elements = 0;
  private readonly open: string;
  private readonly separator: string;
  private readonly close: string;
  private readonly indent: string;

  constructor(layout: JsonArrayLayout) {
    this.indent = layout === 'line per element' ? '' : ' '.repeat(layout.indent);
    const pretty = layout === 'line per element' || layout.indent > 0;
    this.open = pretty ? `[\n${this.indent}` : '[';
    this.separator = pretty ? `,\n${this.indent}` : ',';
    this.close = pretty ? '\n]' : ']';
  }

  /** How many elements have been given. */
  get count(): number {
    return this.elements;
  }

  /** The text that adds `value` to the array: the opening bracket or a separator, then the element. */
  element(value: unknown): string {
    // Newlines in JSON text are all layout (those in strings are escaped): each element line is indented once more.
    const text = (JSON.stringify(value, null, this.indent) ?? 'null').replaceAll('\n', `\n${this.indent}`);
    return `${this.elements++ === 0 ? this.open : this.separator}${text}`;
  }

  /** The text that closes the array: `[]` when no element came. */
  end(): string {
    return this.elements === 0 ? '[]' : this.close;
  }
}

/** Piece by piece, JSON Lines: each element compact on a line of its own; nothing around them. */
export class JsonLinesText {
  private elements = 0;

  /** How many elements have been given. */
  get count(): number {
    return this.elements;
  }

  /** The line of `value`, its newline included. */
  element(value: unknown): string {
    this.elements++;
    return `${JSON.stringify(value) ?? 'null'}\n`;
  }

  /** Nothing: the last line ended with its element. */
  end(): string {
    return '';
  }
}

/** The pieces of the array of `values`, then `after`: for a file writer, never joined. */
export function* jsonArrayPieces(values: Iterable<unknown>, layout: JsonArrayLayout, after = ''): Generator<string> {
  const text = new JsonArrayText(layout);
  for (const value of values) yield text.element(value);
  yield `${text.end()}${after}`;
}

/** A file read as a JSON array does not hold one: its first character is another. */
export class NotJsonArrayError extends SyntaxError {
  override name = 'NotJsonArrayError';

  constructor(readonly firstCharacter: string) {
    super(`not a JSON array: it starts with ${JSON.stringify(firstCharacter)}`);
  }
}

/** A line of a JSON Lines file that is no JSON value. */
export class JsonLineError extends SyntaxError {
  override name = 'JsonLineError';

  constructor(readonly line: number, options: ErrorOptions & { cause: Error }) {
    super(`line ${line}: ${options.cause.message}`, options);
  }
}

/** Text in another encoding than UTF-8, as its byte order mark tells. */
export class NotUtf8Error extends SyntaxError {
  override name = 'NotUtf8Error';

  constructor(readonly encoding: string) {
    super(`is ${encoding} text (its byte order mark); it is read as UTF-8: convert it (iconv -f ${encoding} -t UTF-8)`);
  }
}

/** The byte order marks of the encodings text files come in (Windows' tools write them). */
const BYTE_ORDER_MARKS = [['UTF-8', [0xef, 0xbb, 0xbf]], ['UTF-16LE', [0xff, 0xfe]], ['UTF-16BE', [0xfe, 0xff]]] as const;

/**
 * Where the UTF-8 text that `head` (a file's first bytes, three or all) begins: after a UTF-8 byte
 * order mark, which JSON.parse would take for a character. A UTF-16 one is a NotUtf8Error.
 */
export function utf8TextStart(head: Uint8Array): number {
  const mark = BYTE_ORDER_MARKS.find(([, bytes]) => bytes.every((b, i) => head[i] === b));
  if (mark === undefined) return 0;
  if (mark[0] !== 'UTF-8') throw new NotUtf8Error(mark[0]);
  return mark[1].length;
}

/**
 * The bytes of the file at `path`, `chunkBytes` at a time (a buffer reused from one to the next),
 * after a UTF-8 byte order mark; read from the current position, so that a pipe is read too
 * (`eval --results <(zcat results.json.gz)`).
 */
function* utf8Chunks(path: string, chunkBytes: number): Generator<Buffer, void, undefined> {
  const fd = openSync(path, 'r');
  try {
    // Enough bytes for a byte order mark, however few a pipe gives at a time.
    const head = Buffer.alloc(3);
    let headLength = 0;
    for (let read = -1; read !== 0 && headLength < head.length; ) {
      read = readSync(fd, head, headLength, head.length - headLength, null);
      headLength += read;
    }
    for (let from = utf8TextStart(head.subarray(0, headLength)); from < headLength; from += chunkBytes) yield head.subarray(from, Math.min(from + chunkBytes, headLength));
    const chunk = Buffer.alloc(chunkBytes);
    for (;;) {
      const length = readSync(fd, chunk, 0, chunkBytes, null);
      if (length === 0) return;
      yield chunk.subarray(0, length);
    }
  } finally {
    closeSync(fd);
  }
}

const BYTE = { space: 0x20, tab: 0x09, newline: 0x0a, return: 0x0d, comma: 0x2c, quote: 0x22, backslash: 0x5c, openBracket: 0x5b, closeBracket: 0x5d, openBrace: 0x7b, closeBrace: 0x7d } as const;

const isWhitespace = (b: number): boolean => b === BYTE.space || b === BYTE.newline || b === BYTE.return || b === BYTE.tab;

/**
 * The elements of the JSON array in the file at `path`, parsed one at a time as they are read,
 * `chunkBytes` at a time: a file past the longest string (~512 MiB) cannot be read whole into one.
 * Each element's text is given to `JSON.parse`; the array around them (brackets, commas, nothing
 * after it) is checked here. A SyntaxError says where the text goes wrong (a NotJsonArrayError
 * when it is no array at all); a file that cannot be read gives the system's error. (stream-json,
 * whose tokenizer parses every value itself, took 3x as long on 212 MB of results.)
 */
export function* readJsonArrayFile(path: string, chunkBytes = 1 << 20): Generator<unknown, void, undefined> {
  /** Where in the array: before its `[`, expecting an element (or `]` right after `[`), after an element, after its `]`. */
  let place: 'start' | 'value' | 'first value' | 'after value' | 'end' = 'start';
  let count = 0;
  // The element being read: its bytes of earlier chunks, where it began, and what the scan is inside of.
  let pieces: Buffer[] = [];
  let elementStart = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scalar = false;
  const finish = (last: Buffer): unknown => {
    const text = (pieces.length === 0 ? last : Buffer.concat([...pieces, last])).toString('utf8');
    pieces = [];
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new SyntaxError(`element ${count} (from byte ${elementStart}): ${(error as Error).message}`, { cause: error });
    }
  };
  let offset = 0;
  for (const chunk of utf8Chunks(path, chunkBytes)) {
    const { length } = chunk;
    let from = -1; // where the element being read starts in this chunk, when it is being read
    if (place === 'after value' && (depth > 0 || inString || scalar)) from = 0;
    for (let i = 0; i < length; i++) {
      const b = chunk[i]!;
      if (from >= 0) {
        // Inside an element: find its end.
        let endsAfter = -1; // index just past the element's last byte, once found
        if (inString) {
          if (escaped) escaped = false;
          else if (b === BYTE.backslash) escaped = true;
          else if (b === BYTE.quote) {
            inString = false;
            if (depth === 0) endsAfter = i + 1;
          }
        } else if (scalar) {
          if (isWhitespace(b) || b === BYTE.comma || b === BYTE.closeBracket) {
            scalar = false;
            endsAfter = i;
          }
        } else if (b === BYTE.quote) inString = true;
        else if (b === BYTE.openBrace || b === BYTE.openBracket) depth++;
        else if (b === BYTE.closeBrace || b === BYTE.closeBracket) {
          if (--depth === 0) endsAfter = i + 1;
        }
        if (endsAfter < 0) continue;
        const value = finish(chunk.subarray(from, endsAfter));
        count++;
        from = -1;
        yield value;
        // A scalar ends at the byte after it, which is read again as what follows the element.
        if (endsAfter === i) i--;
        continue;
      }
      if (isWhitespace(b)) continue;
      const at = offset + i;
      if (place === 'start') {
        if (b !== BYTE.openBracket) throw new NotJsonArrayError(String.fromCharCode(b));
        place = 'first value';
      } else if (place === 'after value') {
        if (b === BYTE.comma) place = 'value';
        else if (b === BYTE.closeBracket) place = 'end';
        else throw new SyntaxError(`expected ',' or ']' after element ${count - 1}, found ${JSON.stringify(String.fromCharCode(b))} at byte ${at}`);
      } else if (place === 'end') {
        throw new SyntaxError(`unexpected ${JSON.stringify(String.fromCharCode(b))} at byte ${at}, after the array's end`);
      } else if (b === BYTE.closeBracket && place === 'first value') {
        place = 'end';
      } else if (b === BYTE.closeBracket || b === BYTE.comma) {
        throw new SyntaxError(`expected an element, found ${JSON.stringify(String.fromCharCode(b))} at byte ${at}`);
      } else {
        // An element begins: a container, a string, or a number or literal.
        place = 'after value';
        from = i;
        elementStart = at;
        depth = b === BYTE.openBrace || b === BYTE.openBracket ? 1 : 0;
        inString = b === BYTE.quote;
        scalar = depth === 0 && !inString;
      }
    }
    // An element that goes on into the next chunk: its bytes so far, copied (the chunk is reused).
    if (from >= 0) pieces.push(Buffer.from(chunk.subarray(from, length)));
    offset += length;
  }
  if (place !== 'end') throw new SyntaxError(place === 'start' ? 'the file is empty' : 'the file ends before its array does (cut short?)');
}

/**
 * The values of the JSON Lines file at `path` (`predict --format jsonl`), one a line, read
 * `chunkBytes` at a time as `readJsonArrayFile` reads an array; blank lines are skipped. A line
 * that is no JSON value is a JsonLineError naming it. A newline never occurs inside a JSON value
 * (strings escape theirs), so the lines are split at the newline bytes.
 */
export function* readJsonLinesFile(path: string, chunkBytes = 1 << 20): Generator<unknown, void, undefined> {
  // The line being read: its bytes of earlier chunks.
  let pieces: Buffer[] = [];
  let line = 0;
  const parsed = function* (last: Buffer): Generator<unknown> {
    const text = (pieces.length === 0 ? last : Buffer.concat([...pieces, last])).toString('utf8');
    pieces = [];
    line++;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new JsonLineError(line, { cause: error as Error });
    }
    yield value;
  };
  for (const chunk of utf8Chunks(path, chunkBytes)) {
    const { length } = chunk;
    let from = 0;
    for (let end = chunk.indexOf(BYTE.newline); end >= 0; end = chunk.indexOf(BYTE.newline, from)) {
      yield* parsed(chunk.subarray(from, end));
      from = end + 1;
    }
    // A line that goes on into the next chunk: its bytes so far, copied (the chunk is reused).
    if (from < length) pieces.push(Buffer.from(chunk.subarray(from, length)));
  }
  // The last line, when no newline ends it.
  if (pieces.length > 0) yield* parsed(Buffer.alloc(0));
}
