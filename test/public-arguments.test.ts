/**
 * Public functions called from plain JavaScript with arguments of the wrong kind: each is a typed
 * error naming the argument at the entry point, not a TypeError from inside nor a silent default.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile } from '../src/config/experiment.js';
import { createOnnxNetwork, resolveConfig } from '../src/model/load.js';
import { presetConfig } from '../src/config/presets.js';
import { calibrationInputs, quantizeForImages } from '../src/model/quantize.js';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { findEntry, ZooError } from '../src/zoo/catalog.js';
import { fetchWeights } from '../src/zoo/download.js';
import { expectRejection } from './helpers/cli.js';
import { Workspace } from '../src/workspace.js';
import { PreprocessError, toNetworkInput } from '../src/preprocess/index.js';

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

  it('BAD CALL - fetchWeights of a number or a model\'s name, or options misspelt or of the wrong kind: a ZooError before any folder is made or file fetched', async () => {
    await expectRejection(fetchWeights(js(42)), ZooError, /^fetchWeights: entry must be a catalogue entry \(findEntry\(name\), or one of ZOO\), got Number$/);
    await expectRejection(fetchWeights(js('coco_w32_512')), ZooError, /^fetchWeights: entry must be a catalogue entry, got the name "coco_w32_512": findEntry\(name\) gives its entry$/);
    // The default cache would be used, and written to, without a word.
    const entry = findEntry('coco_w32_512');
    await expectRejection(fetchWeights(entry, js({ cachedir: '/nonexistent' })), ZooError, /^fetchWeights: unknown option cachedir; its options are cacheDir, onProgress, /);
    await expectRejection(fetchWeights(entry, js('/tmp/cache')), ZooError, /^fetchWeights: options must be an object with any of cacheDir, .*; got "\/tmp\/cache"$/);
  });

  it('BAD CALL - fetchWeights options of the wrong kind or range (retries NaN, Infinity, negative or a string; retryDelayMs so; a cacheDir, baseUrl or callback that is none): a ZooError naming it before any request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'higher-pose-fetch-options-'));
    const cacheDir = join(dir, 'cache');
    let requests = 0;
    // Offline: each attempt fails as a dropped connection would, and is retried; past any retries asked, the loop is stopped.
    const offline = js<typeof fetch>(async () => {
      if (++requests > 5) throw new ZooError('asked again past the retries');
      throw new TypeError('fetch failed');
    });
    const entry = findEntry('coco_w32_512_mmpose');
    const cases: [Record<string, unknown>, string][] = [
      // NaN and Infinity retries asked again at once, for ever.
      [{ retries: NaN }, 'retries must be an integer ≥ 0 (further requests after an interrupted transfer), got NaN'],
      [{ retries: Infinity }, 'retries must be an integer ≥ 0 (further requests after an interrupted transfer), got Infinity'],
      [{ retries: -1 }, 'retries must be an integer ≥ 0 (further requests after an interrupted transfer), got -1'],
      [{ retries: 1.5 }, 'retries must be an integer ≥ 0 (further requests after an interrupted transfer), got 1.5'],
      [{ retries: '2' }, 'retries must be an integer ≥ 0 (further requests after an interrupted transfer), got "2"'],
      [{ retryDelayMs: -5 }, 'retryDelayMs must be a number of milliseconds ≥ 0, got -5'],
      [{ retryDelayMs: NaN }, 'retryDelayMs must be a number of milliseconds ≥ 0, got NaN'],
      [{ retryDelayMs: '10' }, 'retryDelayMs must be a number of milliseconds ≥ 0, got "10"'],
      // Node ends a longer timer at once.
      [{ retries: 2, retryDelayMs: 2 ** 31 }, 'the wait before the last retry, retries × retryDelayMs = 2 × 2147483648 ms, is over the longest a timer takes (2147483647 ms, 24.8 days)'],
      // The working folder was the cache.
      [{ cacheDir: '' }, 'cacheDir must be a folder path (a non-empty string), got ""'],
      [{ baseUrl: 'mirror/weights' }, 'baseUrl must be the http:// or https:// URL of the folder holding the file, got "mirror/weights"'],
      // Each attempt failed as a broken download, 'fetchImpl is not a function' its reason.
      [{ fetchImpl: 'undici' }, 'fetchImpl must be a function, got "undici"'],
      [{ onProgress: true }, 'onProgress must be a function, got true'],
    ];
    for (const [extra, message] of cases) {
      requests = 0;
      const given = { cacheDir, fetchImpl: offline, retryDelayMs: 0, ...extra };
      const error = await fetchWeights(entry, js(given)).then(() => undefined, (e: unknown) => e);
      expect(error, JSON.stringify(extra)).to.be.instanceOf(ZooError).with.property('message', `fetchWeights: ${message}`);
      expect(requests, JSON.stringify(extra)).to.equal(0);
    }
    expect(existsSync(cacheDir)).to.equal(false);
    rmSync(dir, { recursive: true });
  });

  it('BAD CALL - createOnnxNetwork options of the wrong kind or misspelt: a ConfigError naming the option before the model is compiled', async () => {
    const tiny = presetConfig('tiny_coco');
    const open = (options: unknown) => createOnnxNetwork(tiny, TINY_COCO_CHECKPOINT(), js(options));
    // 'providers.map is not a function' from inside before.
    await expectRejection(open({ executionProviders: 'cpu' }), ConfigError, /^createOnnxNetwork: executionProviders must be a list of providers from \[cpu, cuda, webgpu\], such as \['cpu'\], got "cpu"$/);
    await expectRejection(open({ executionProviders: ['gpu'] }), ConfigError, /^createOnnxNetwork: executionProviders must be a list of providers .*, got \["gpu"\]$/);
    await expectRejection(open({ executionProviders: [] }), ConfigError, /^createOnnxNetwork: executionProviders must be /);
    await expectRejection(open({ intraOpNumThreads: '4' }), ConfigError, /^createOnnxNetwork: intraOpNumThreads must be an integer from 1 to 1024, got "4"$/);
    await expectRejection(open({ graphOptimizationLevel: 'max' }), ConfigError, /^createOnnxNetwork: graphOptimizationLevel must be one of \[disabled, basic, extended, all\], got "max"$/);
    // A string would be taken as true.
    await expectRejection(open({ networkThread: 'no' }), ConfigError, /^createOnnxNetwork: networkThread must be true or false, got "no"$/);
    await expectRejection(open({ precision: 'int8', calibrationImages: 'a.jpg' }), ConfigError, /^createOnnxNetwork: calibrationImages must be a list of images .*, got String$/);
    await expectRejection(open({ executionProvider: ['cpu'] }), ConfigError, /^createOnnxNetwork: unknown option executionProvider; its options are executionProviders, /);
    await expectRejection(open('cpu'), ConfigError, /^createOnnxNetwork: options must be an object with any of executionProviders, .*; got "cpu"$/);
  });

  it('BAD CALL - calibrationInputs and quantizeForImages without images or settings, or with a misspelt option: a ConfigError naming it', async () => {
    const settings = presetConfig('tiny_coco').test;
    const first = (options: unknown) => calibrationInputs(js(options)).next();
    // 'Cannot read properties of undefined (reading entries)' before.
    await expectRejection(first({}), ConfigError, /^calibrationInputs: images must be a list of images \(paths, encoded bytes or pixels\), got Undefined$/);
    await expectRejection(first({ images: [] }), ConfigError, /^calibrationInputs: settings must be the test settings \{ inputSize, scaleFactor, flipTest \} \(config\.test\), got Undefined$/);
    await expectRejection(first({ images: [], settings, exifOrientaton: false }), ConfigError, /^calibrationInputs: unknown option exifOrientaton; its options are images, settings, /);
    await expectRejection(first(undefined), ConfigError, /^calibrationInputs: options must be an object with any of images, .*; got undefined$/);
    await expectRejection(quantizeForImages(new Uint8Array(0), js({ images: 'a.jpg', settings })), ConfigError, /^quantizeForImages: images must be a list of images .*, got String$/);
  });

  it('BAD CALL - new Workspace of a string or { shared: \'yes\' }, and toNetworkInput with flip \'yes\' or the buffer in its place: named, not taken as given', () => {
    expect(() => new Workspace(js('x'))).to.throw(TypeError, /^Workspace: options must be an object with any of shared; got "x"$/);
    expect(() => new Workspace(js({ shared: 'yes' }))).to.throw(TypeError, /^Workspace: shared must be true or false, got "yes"$/);
    expect(() => new Workspace(js({ share: true }))).to.throw(TypeError, /^Workspace: unknown option share; its options are shared$/);
    const image = { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4 };
    // Mirrored, as true, before.
    expect(() => toNetworkInput(image, js('yes'))).to.throw(PreprocessError, /^toNetworkInput: flip must be true or false, got "yes"$/);
    expect(() => toNetworkInput(image, js(new Float32Array(48)))).to.throw(PreprocessError, /^toNetworkInput: flip must be true or false, got Float32Array$/);
  });
});
