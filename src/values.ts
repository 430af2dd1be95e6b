/**
 * Checks and descriptions of values of unknown kind, shared by the input checks of every stage
 * (callers of the public API may pass anything).
 */

export const isPositiveInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
export const isPositive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;
export const isFlag = (x: unknown): x is boolean => typeof x === 'boolean';

/** A value given, as errors show it: numbers as written (JSON shows NaN and the infinities as null), the rest as JSON. */
export function shownValue(v: unknown): string {
  return typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
}

/** The first line of a caught error's message (or of the value thrown), trimmed: stack-like details left out. */
export function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}

/** The built-in type of a value (`Uint8Array`, `ArrayBuffer`, `Object`, `Null`), for errors that should not print the value itself. */
export function typeName(v: unknown): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}
