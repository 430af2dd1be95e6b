/**
 * Locating the reference fixtures. Fixture suites put `@fixtures` in their title so that
 * `npm run test:fixtures` selects them, and skip with a printed reason when the data is absent.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** `$HIGHER_POSE_FIXTURES`, else `../shared/fixtures` beside the checkout. */
export function fixturesRoot(): string {
  return resolve(process.env.HIGHER_POSE_FIXTURES || join(process.cwd(), '..', 'shared', 'fixtures'));
}

/** `$HIGHER_POSE_COCO`, else `../shared/coco-mini`. */
export function cocoRoot(): string {
  return resolve(process.env.HIGHER_POSE_COCO ?? join(process.cwd(), '..', 'shared', 'coco-mini'));
}

export function hasFixtures(sub = ''): boolean {
  return existsSync(join(fixturesRoot(), sub));
}

/** Case folders directly under a fixtures subfolder (e.g. `forward`), sorted. */
export function caseDirs(sub: string): string[] {
  const dir = join(fixturesRoot(), sub);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort()
    .map((name) => join(dir, name));
}

/**
 * A mocha suite that needs `sub` under the fixtures root: tagged `@fixtures`. When that
 * folder is missing the suite holds one pending test whose title gives the reason, so the
 * skip is visible in the report.
 */
export function describeFixtures(title: string, sub: string, body: () => void): void {
  describe(`${title} @fixtures`, function () {
    if (!hasFixtures(sub)) {
      it(`skipped: reference fixtures not found at ${join(fixturesRoot(), sub)} (set HIGHER_POSE_FIXTURES)`);
      return;
    }
    body();
  });
}
