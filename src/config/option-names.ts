/**
 * How an error names the options of a call. One text serves every caller: the API's message says
 * `precision 'int8' needs calibrationImages`, a command line `--precision int8 needs --calibrate`.
 * No imports: the post-processing workers load it (through the test settings' checks).
 */

/** Names option `option` (by its API name), with `value` of it where the text means one. */
export type OptionNamer = (option: string, value?: string) => string;

/** A text that names options, in the words of whoever names them. */
export type OptionWords = (name: OptionNamer) => string;

/** The API's names: the options as `createEstimator` takes them, a string value quoted (`precision 'int8'`, `inputSize 512`). */
export const apiOptionName: OptionNamer = (option, value) => {
  if (value === undefined) return option;
  return `${option} ${/^\d/.test(value) ? value : `'${value}'`}`;
};
