/**
 * The package as npm packs it (`npm pack --dry-run`): what a consumer installs must hold the
 * CLI, the files the library reads at run time (the demo's image and tiny model, the worker
 * threads' modules) and the docs the README links to, and nothing of the repository's sources,
 * tests or bench.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The files `npm pack` puts in the tarball (without running `prepare`, a build). */
function packedFiles(): string[] {
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(json) as { files: { path: string }[] }[])[0].files.map(({ path }) => path);
}

/** The modules `startModuleWorker` starts, as built paths (`dist/src/parallel/worker.js`). */
function workerEntries(): string[] {
  const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((path) => path.endsWith('.ts'));
  return sources.flatMap((path) =>
    [...readFileSync(join(ROOT, 'src', path), 'utf8').matchAll(/startModuleWorker\('([^']+)', import\.meta\.url\)/g)]
      .map(([, name]) => join('dist/src', dirname(path), `${name}.js`)));
}

describe('the npm package', function () {
  this.timeout(60_000);
  let files: string[];
  before(() => {
    files = packedFiles();
  });

  it('holds the CLI, the demo image and tiny model, the docs the README links to and the licence package.json names', () => {
    const docs = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/\]\((docs\/[^)#]+)/g)].map(([, path]) => path);
    expect(docs).to.not.be.empty;
    const needed = ['package.json', 'README.md', 'LICENSE', 'bin/higher-pose.js', relative(ROOT, DEMO_IMAGE()), relative(ROOT, TINY_COCO_CHECKPOINT()), ...docs];
    expect(needed.filter((path) => !files.includes(path))).to.deep.equal([]);
    const { license } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).to.match(new RegExp(`^${license} License\n`));
  });

  it('holds nothing else of the repository', () => {
    const shipped = /^(dist\/src\/|bin\/|docs\/|fixtures\/(images\/sample\.jpg|models\/tiny_coco\.legacy\.pth)$|package\.json$|README\.md$|LICENSE$)/;
    expect(files.filter((path) => !shipped.test(path))).to.deep.equal([]);
  });

  it('holds the built entry points, the worker threads\' modules among them', function () {
    if (!existsSync(join(ROOT, 'dist/src/index.js'))) this.skip(); // not built: `npm run build`
    const { main, types } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; types: string };
    const workers = workerEntries();
    expect(workers).to.have.length.of.at.least(2);
    const needed = [main, types, 'dist/src/cli/main.js', ...workers];
    expect(needed.filter((path) => !files.includes(path))).to.deep.equal([]);
  });

  it('loads from its built entry by import and, as the README says, by require (no top-level await)', function () {
    if (!existsSync(join(ROOT, 'dist/src/index.js'))) this.skip(); // not built: `npm run build`
    const { main } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string };
    const entry = join(ROOT, main);
    const loaded = (code: string, ...flags: string[]) =>
      execFileSync(process.execPath, [...flags, '-e', code], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    const shown = 'typeof hp.createEstimator + " " + typeof hp.ConfigError';
    expect(loaded(`import(${JSON.stringify(pathToFileURL(entry).href)}).then((hp) => console.log(${shown}))`)).to.equal('function function');
    expect(loaded(`const hp = require(${JSON.stringify(entry)}); console.log(${shown})`, '--input-type=commonjs')).to.equal('function function');
  });

  it('is reached by its name through package.json exports, by import and require, its internals only by their file paths', function () {
    if (!existsSync(join(ROOT, 'dist/src/index.js'))) this.skip(); // not built: `npm run build`
    // Run in the package folder, `higher-pose` names the package itself (Node resolves a self-reference through `exports` alone).
    const run = (code: string, ...flags: string[]) =>
      execFileSync(process.execPath, [...flags, '-e', code], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    const shown = 'typeof hp.createEstimator + " " + typeof hp.ConfigError';
    expect(run(`import('higher-pose').then((hp) => console.log(${shown}))`)).to.equal('function function');
    expect(run(`const hp = require('higher-pose'); console.log(${shown})`, '--input-type=commonjs')).to.equal('function function');
    expect(run(`import('higher-pose/package.json', { with: { type: 'json' } }).then(({ default: p }) => console.log(p.name))`)).to.equal('higher-pose');
    expect(() => run(`import('higher-pose/dist/src/estimator.js')`)).to.throw(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  it('gives TypeScript (NodeNext) its declarations by its name', function () {
    if (!existsSync(join(ROOT, 'dist/src/index.d.ts'))) this.skip(); // not built: `npm run build`
    const { types } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { types: string };
    const host = ts.createCompilerHost({});
    const options = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
    // As from a module of the package (self-reference), both as an ES module and as CommonJS.
    for (const [from, mode] of [['test/consumer.mts', ts.ModuleKind.ESNext], ['test/consumer.cts', ts.ModuleKind.CommonJS]] as const) {
      const { resolvedModule } = ts.resolveModuleName('higher-pose', join(ROOT, from), options, host, undefined, undefined, mode);
      expect(resolvedModule && relative(ROOT, resolvedModule.resolvedFileName), from).to.equal(types);
    }
  });
});
