/**
 * The README's examples against the code: its TypeScript blocks type-check against the public
 * API, and its command lines name commands and options the CLI has, so neither drifts.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import ts from 'typescript';
import { buildProgram } from '../src/cli/main.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function fencedBlocks(language: string): string[] {
  return [...README.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map(([, code]) => code);
}

/**
 * The README's TypeScript examples, each type-checked against the package's sources. A block
 * without imports gets `createEstimator` from the package, and one that uses `estimator`
 * without making it gets it declared; `…` (elided code) becomes a comment.
 */
function typeScriptExamples(): string[] {
  return fencedBlocks('ts').map((code) => {
    const preamble = [
      /^import /m.test(code) ? '' : "import { createEstimator, type HigherHRNetEstimator } from 'higher-pose';",
      /\bestimator\b/.test(code) && !/\bconst estimator\b/.test(code) ? 'declare const estimator: HigherHRNetEstimator;' : '',
      'export {};',
    ];
    return `${preamble.join('\n')}\n${code.replaceAll('…', '/* … */')}`;
  });
}

/**
 * The type errors of each of `codes`, checked as modules of one program (the package's sources
 * are checked once for all) with the project's compiler options and the stricter ones of
 * `tsc --init`, `higher-pose` being `src/index.ts`.
 */
function typeErrors(codes: readonly string[]): string[][] {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('tsconfig.json could not be read');
  // An example may make a value it does not use (an estimator it only creates, say). A user's
  // project may be stricter than ours: `tsc --init` turns on the last three.
  const options = {
    ...config.options, noEmit: true, noUnusedLocals: false, paths: { 'higher-pose': [join(ROOT, 'src/index.ts')] },
    exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, verbatimModuleSyntax: true,
  };
  const files = new Map(codes.map((code, i) => [join(ROOT, 'test', `readme-example-${i + 1}.ts`), code]));
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (path) => files.has(resolve(path)) || fileExists(path);
  host.readFile = (path) => files.get(resolve(path)) ?? readFile(path);
  host.getSourceFile = (path, language, ...rest) => {
    const code = files.get(resolve(path));
    return code === undefined ? getSourceFile(path, language, ...rest) : ts.createSourceFile(path, code, language, true);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return [...files.keys()].map((file) =>
    ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')));
}

describe("the README's TypeScript examples", function () {
  this.timeout(120_000);
  const misuse = "import { createEstimator } from 'higher-pose';\nconst e = await createEstimator({ preset: 'coco_w32_512' });\nconst n: number = (await e.estimatePoses('a.jpg'))[0].keypoints;\n";
  let examples: string[];
  let errors: string[][];
  before(() => {
    examples = typeScriptExamples();
    errors = typeErrors([...examples, misuse]);
  });

  it('type-check against the public API', () => {
    expect(examples.length).to.be.at.least(3);
    examples.forEach((code, i) => expect(errors[i], code).to.deep.equal([]));
  });

  it('and the check fails on an example that misuses it', () => {
    expect(errors[examples.length].join('\n')).to.match(/not assignable to type 'number'/);
  });
});

/** Each `higher-pose ...` invocation of the README's shell blocks, continuation lines joined, as words. */
function commandLines(): string[][] {
  const lines = fencedBlocks('sh').flatMap((block) => block.replaceAll('\\\n', ' ').split('\n'));
  return lines.flatMap((line) => line.split(/\||&&/))
    .map((part) => part.trim().split(/\s+/).map((word) => word.replace(/^['"(]|['":),]$/g, '')))
    .filter((words) => words[0] === 'higher-pose');
}

/** What is wrong with one invocation, checked against the program's commands and their options. */
function unknownParts(words: string[], program: Command): string[] {
  let command = program;
  let at = 1;
  while (at < words.length && !words[at].startsWith('-') && command.commands.length > 0) {
    const sub = command.commands.find((c) => c.name() === words[at]);
    if (!sub) return [`no command '${words[at]}' in '${command.name()}'`];
    command = sub;
    at += 1;
  }
  if (command === program) return ['no command given'];
  const known = new Set(command.options.map((o) => o.long));
  return words.slice(at).filter((w) => w.startsWith('--') && !known.has(w.split('=')[0]))
    .map((w) => `'${command.name()}' has no option ${w}`);
}

/** `COMMAND --option` for each option of `program`'s commands (subcommands too) that `text` never names. */
function undocumentedOptions(program: Command, text: string): string[] {
  const named = new Set(text.match(/--[a-z][a-z0-9-]*/g));
  const unnamed = (command: Command) => command.options.flatMap((o) => (o.long === undefined || named.has(o.long) ? [] : [o.long]));
  const missing = (command: Command, prefix: string): string[] => command.commands.flatMap((sub) => {
    const name = `${prefix}${sub.name()}`;
    return [...unnamed(sub).map((flag) => `${name} ${flag}`), ...missing(sub, `${name} `)];
  });
  return [...unnamed(program), ...missing(program, '')];
}

describe("the README's command lines", () => {
  it('name commands and options the CLI has', () => {
    const program = buildProgram();
    const lines = commandLines();
    expect(lines.length).to.be.at.least(10);
    expect(lines.flatMap((words) => unknownParts(words, program))).to.deep.equal([]);
  });

  it('and the README names every option the CLI has', () => {
    expect(undocumentedOptions(buildProgram(), README)).to.deep.equal([]);
    expect(undocumentedOptions(buildProgram(), '--help --version')).to.include('predict --no-adjust');
  });

  it('and the check finds a misspelt option or command', () => {
    const program = buildProgram();
    expect(unknownParts(['higher-pose', 'predict', 'a.jpg', '--max-pose', '3'], program)).to.deep.equal(["'predict' has no option --max-pose"]);
    expect(unknownParts(['higher-pose', 'weights', 'get', 'x'], program)).to.deep.equal(["no command 'get' in 'weights'"]);
    expect(unknownParts(['higher-pose', 'weights', 'fetch', 'x', '--cache-dir', 'd'], program)).to.deep.equal([]);
  });
});
