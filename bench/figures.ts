/** The bench's last line: its figures as one JSON object. */

/**
 * `figures` as one JSON line. A figure that is not a finite number (a ratio of a time that
 * rounded to 0, a measurement that printed no number) is refused, naming it: JSON would write
 * it as null, which reads as a figure left out.
 */
export function figuresLine(figures: Record<string, number | string | boolean>): string {
  const broken = Object.entries(figures).filter(([, value]) => typeof value === 'number' && !Number.isFinite(value));
  if (broken.length > 0) throw new RangeError(`figures that are not finite numbers: ${broken.map(([key, value]) => `${key} ${value}`).join(', ')}`);
  return JSON.stringify(figures);
}
