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

/**
 * The README's TypeScript examples, each type-checked against the package's sources. A block
 * without imports gets `createEstimator` from the package, and one that uses `estimator`
 * without making it gets it declared; `…` (elided code) becomes a comment.
 */
function readmeExamples(): string[] {
  const readme = ts.sys.readFile(join(ROOT, 'README.md')) ?? '';
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map(([, code]) => {
    const preamble = [
      /^import /m.test(code) ? '' : "import { createEstimator, type HigherHRNetEstimator } from 'higher-pose';",
      /\bestimator\b/.test(code) && !/\bconst estimator\b/.test(code) ? 'declare const estimator: HigherHRNetEstimator;' : '',
      'export {};',
    ];
    return `${preamble.join('\n')}\n${code.replaceAll('…', '/* … */')}`;
  });
}

function typeErrors(code: string, name: string): string[] {
  const file = join(ROOT, 'test', name);
  const options: ts.CompilerOptions = {
    strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true, skipLibCheck: true, esModuleInterop: true, types: ['node'], paths: { 'higher-pose': [join(ROOT, 'src/index.ts')] },
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (path) => resolve(path) === file || fileExists(path);
  host.readFile = (path) => (resolve(path) === file ? code : readFile(path));
  host.getSourceFile = (path, language, ...rest) =>
    resolve(path) === file ? ts.createSourceFile(path, code, language, true) : getSourceFile(path, language, ...rest);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe("the README's TypeScript examples", function () {
  this.timeout(120_000);

  it('type-check against the public API', () => {
    const examples = readmeExamples();
    expect(examples.length).to.be.at.least(3);
    examples.forEach((code, i) => expect(typeErrors(code, `readme-example-${i + 1}.ts`), code).to.deep.equal([]));
  });

  it('and the check fails on an example that misuses it', () => {
    const misuse = "import { createEstimator } from 'higher-pose';\nconst e = await createEstimator({ preset: 'coco_w32_512' });\nconst n: number = (await e.estimatePoses('a.jpg'))[0].keypoints;\n";
    expect(typeErrors(misuse, 'readme-misuse.ts').join('\n')).to.match(/not assignable to type 'number'/);
  });
});
