/**
 * Public functions called from plain JavaScript with arguments of the wrong kind: each is a typed
 * error naming the argument at the entry point, not a TypeError from inside nor a silent default.
 */
import { expect } from 'chai';
import { ConfigError, loadConfigFile } from '../src/config/experiment.js';
import { resolveConfig } from '../src/model/load.js';

/** A value TypeScript would refuse, as a JavaScript caller may pass it. */
const js = <T>(value: unknown): T => value as T;

describe('public functions given arguments of the wrong kind', () => {
  it('BAD CALL - loadConfigFile of a number (a file descriptor to fs), and resolveConfig of nothing or a number: a ConfigError naming the argument', () => {
    expect(() => loadConfigFile(js(42))).to.throw(ConfigError, /^loadConfigFile: path must be the path of an experiment YAML file \(a string\), got Number$/);
    expect(() => loadConfigFile(js(new URL('file:///x.yaml')))).to.throw(ConfigError, /^loadConfigFile: path must be .*, got URL$/);
    for (const [given, kind] of [[undefined, 'Undefined'], [42, 'Number'], [null, 'Null']] as const) {
      expect(() => resolveConfig(js(given)), String(given)).to.throw(ConfigError, new RegExp(`^resolveConfig needs \\{ preset \\} or \\{ config \\}, got ${kind}$`));
    }
  });
});
