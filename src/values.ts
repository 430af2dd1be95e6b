/**
 * Checks and descriptions of values of unknown kind, shared by the input checks of every stage
 * (callers of the public API may pass anything).
 */

export const isPositiveInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
export const isPositive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;
export const isFlag = (x: unknown): x is boolean => typeof x === 'boolean';

/**
 * A value given, as errors show it: numbers as written (JSON shows NaN and the infinities as null),
 * BigInts as JavaScript writes them (JSON has none: it throws), the rest as JSON; what JSON cannot
 * show (a circular object) by its type.
 */
export function shownValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v, (_key, inner: unknown) => (typeof inner === 'bigint' ? `${inner}n` : inner)) ?? String(v);
  } catch {
    return typeName(v);
  }
}

/** The first line of a caught error's message (or of the value thrown), trimmed: stack-like details left out. */
export function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}

/** The built-in type of a value (`Uint8Array`, `ArrayBuffer`, `Object`, `Null`), for errors that should not print the value itself. */
export function typeName(v: unknown): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

/**
 * What is wrong with the options object of a call whose option names are the keys of `known`:
 * no object, or a name it does not know (a misspelt one would be ignored without a word);
 * undefined when nothing is.
 */
export function optionsProblem(options: unknown, known: Readonly<Record<string, true>>): string | undefined {
  const names = Object.keys(known);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return `options must be an object with any of ${names.join(', ')}; got ${typeof options === 'object' || typeof options === 'function' ? typeName(options) : shownValue(options)}`;
  }
  const unknown = Object.keys(options).filter((name) => !Object.hasOwn(known, name));
  if (unknown.length === 0) return undefined;
  return `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; its options are ${names.join(', ')}`;
}

/** `T` read-only to the last nested object and array: the type of what `frozen` gives. */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown ? T : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** `value`, frozen to the last nested object and array. */
export function frozen<T>(value: T): DeepReadonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) frozen(inner);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}
