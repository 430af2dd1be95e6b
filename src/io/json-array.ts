/**
 * The text of a JSON array produced one element at a time, so that results of any size can be
 * written as they come: one string for the whole array fails past V8's ~512 MiB string limit
 * (`RangeError: Invalid string length`), and means holding every element until the end.
 * `json-read.ts` reads such a file (or JSON Lines) back one value at a time.
 */

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
