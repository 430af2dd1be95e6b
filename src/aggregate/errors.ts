import type { TestSettings } from '../config/experiment.js';
import { testSettingsProblem } from '../config/test-settings.js';
import { apiOptionName } from '../config/option-names.js';
import { shownValue } from '../values.js';

/** The error every post-processing step throws for unusable input (bad shapes, NaN, bad settings). */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

/** Throws for settings that are no test settings, or that the reference could not run, naming the first field at fault. */
export function assertTestSettings(settings: TestSettings): void {
  if (typeof settings !== 'object' || settings === null) throw new DecodeError('settings must be test settings (testSettings(config, options) makes them)');
  const problem = testSettingsProblem(settings);
  if (problem) throw new DecodeError(`settings.${problem.field} must be ${problem.allowed(apiOptionName)}, got ${shownValue(settings[problem.field])}`);
}
