/**
 * The published type declarations: what `import ... from 'higher-pose'` reaches must not import
 * the optional TensorFlow.js packages, and the packages it does import must come with their
 * types, or TypeScript users without them (and without `skipLibCheck`) could not compile.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The declaration files `tsc -p tsconfig.build.json` would write, by path, computed in memory. */
function emitDeclarations(): Map<string, string> {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('tsconfig.build.json could not be read');
  const program = ts.createProgram(config.fileNames, { ...config.options, emitDeclarationOnly: true, noEmit: false });
  const files = new Map<string, string>();
  program.emit(undefined, (path, text) => files.set(resolve(path), text));
  return files;
}

/** The declaration files reached from `entry` through relative imports, with the modules each imports. */
function reachedDeclarations(files: Map<string, string>, entry: string): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const visit = (path: string): void => {
    if (reached.has(path)) return;
    const specs = [...files.get(path)!.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map(([, spec]) => spec);
    reached.set(path, specs);
    for (const spec of specs) {
      const local = resolve(dirname(path), spec.replace(/\.js$/, '.d.ts'));
      if (spec.startsWith('.') && files.has(local)) visit(local);
    }
  };
  visit(entry);
  return reached;
}

/** The package a bare module specifier names (`@scope/name/sub` → `@scope/name`). */
function packageName(spec: string): string {
  return spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
}

/** Whether the installed package `name` ships its own declarations. */
function hasOwnTypes(name: string): boolean {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { types?: string; typings?: string };
  return Boolean(manifest.types ?? manifest.typings);
}

describe('type declarations', function () {
  this.timeout(120_000);
  let reached: Map<string, string[]>;
  before(() => {
    const files = emitDeclarations();
    const entry = resolve(ROOT, 'dist/src/index.d.ts');
    expect(files.has(entry), 'index.d.ts emitted').to.equal(true);
    reached = reachedDeclarations(files, entry);
  });

  it('reached from the package entry, none imports @tensorflow/*', () => {
    expect(reached.size).to.be.greaterThan(20);
    const tfjs = [...reached].flatMap(([path, specs]) => specs.filter((s) => s.startsWith('@tensorflow/')).map((s) => `${path}: ${s}`));
    expect(tfjs).to.deep.equal([]);
  });

  it('import only packages whose types a consumer installs with higher-pose', () => {
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    // Node's own modules: a TypeScript project for Node has @types/node already.
    const packages = new Set([...reached.values()].flat().filter((s) => !s.startsWith('.') && !s.startsWith('node:')).map(packageName));
    expect(packages).to.include('ndarray');
    const untyped = [...packages].filter((name) => !(name in dependencies && (hasOwnTypes(name) || `@types/${name}` in dependencies)));
    expect(untyped, 'not a dependency, or neither typed nor with its @types/ package in dependencies').to.deep.equal([]);
  });
});
