/**
 * The published type declarations: what `import ... from 'higher-pose'` reaches must not import
 * the optional TensorFlow.js packages, or TypeScript users without them (and without
 * `skipLibCheck`) could not compile.
 */
import { expect } from 'chai';
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

describe('type declarations', function () {
  this.timeout(120_000);

  it('reached from the package entry, none imports @tensorflow/*', () => {
    const files = emitDeclarations();
    const entry = resolve(ROOT, 'dist/src/index.d.ts');
    expect(files.has(entry), 'index.d.ts emitted').to.equal(true);
    const reached = new Set<string>();
    const tfjs: string[] = [];
    const visit = (path: string): void => {
      if (reached.has(path)) return;
      reached.add(path);
      for (const [, spec] of files.get(path)!.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        if (spec.startsWith('@tensorflow/')) tfjs.push(`${path}: ${spec}`);
        const local = resolve(dirname(path), spec.replace(/\.js$/, '.d.ts'));
        if (spec.startsWith('.') && files.has(local)) visit(local);
      }
    };
    visit(entry);
    expect(reached.size).to.be.greaterThan(20);
    expect(tfjs).to.deep.equal([]);
  });
});
