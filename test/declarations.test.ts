/**
 * The published type declarations: what `import ... from 'higher-pose'` reaches must not import
 * the optional TensorFlow.js packages, and the packages it does import must come with their
 * types, or TypeScript users without them (and without `skipLibCheck`) could not compile. And
 * every type the public declarations name is exported too, so that users can name it as well.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The program of `tsc -p tsconfig.build.json`, and the declaration files it would write, by path, computed in memory. */
function emitDeclarations(): { program: ts.Program; files: Map<string, string> } {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('tsconfig.build.json could not be read');
  const program = ts.createProgram(config.fileNames, { ...config.options, emitDeclarationOnly: true, noEmit: false });
  const files = new Map<string, string>();
  program.emit(undefined, (path, text) => files.set(resolve(path), text));
  return { program, files };
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

/**
 * Exports for building a pipeline of one's own (the layer graph, checkpoints, quantization,
 * aggregation and grouping apart): the types inside their declarations need not be exported.
 */
const BUILDING_BLOCKS = new Set([
  'buildNetworkGraph', 'LayerGraph', 'LayerNode', 'ModelSpec', 'loadStateDict', 'readCheckpoint', 'validateStateDict',
  'randomWeights', 'Weights', 'WeightTensor', 'resolveConfig', 'compileModel', 'createNetwork', 'createOnnxNetwork',
  'NetworkOptions', 'Network', 'quantizeModel', 'quantizeForImages', 'calibrationInputs', 'CalibrationOptions',
  'aggregate', 'group', 'toImageCoordinates',
]);

/**
 * Types declared in the package's sources that the declarations of `entry`'s exports name (a
 * parameter, a result, a property, a union member) without `entry` exporting them, each with
 * the declaration that names it. A base an interface extends need not be exported (users name
 * the interface), nor a type only indexed (`EncoderOptions['codec']`); private members, and
 * the insides of `BUILDING_BLOCKS`, are not looked into.
 */
function unexportedTypes(program: ts.Program, entry: string): Map<string, string> {
  const checker = program.getTypeChecker();
  const target = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map(target);
  const exported = new Set(exports);
  const sources = join(ROOT, 'src');
  const missing = new Map<string, string>();
  const visited = new Set<ts.Symbol>();
  const isPrivate = (node: ts.Node) => (ts.canHaveModifiers(node) && (ts.getCombinedModifierFlags(node as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0)
    || ((ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) && ts.isPrivateIdentifier(node.name));
  const visit = (symbol: ts.Symbol, namedBy: string, mustBeExported: boolean): void => {
    const declarations = (symbol.declarations ?? []).filter((d) => d.getSourceFile().fileName.startsWith(sources) && !ts.isTypeParameterDeclaration(d));
    if (declarations.length === 0) return;
    if (mustBeExported && !exported.has(symbol)) missing.set(symbol.name, namedBy);
    if (visited.has(symbol) || (exported.has(symbol) && BUILDING_BLOCKS.has(symbol.name))) return;
    visited.add(symbol);
    const walk = (node: ts.Node, named: boolean): void => {
      if (isPrivate(node)) return;
      if (ts.isIndexedAccessTypeNode(node)) return walk(node.indexType, true);
      if (ts.isHeritageClause(node)) return node.types.forEach((base) => walk(base, false));
      // A body is code, not declaration; a constant's inferred type names nothing.
      if (ts.isFunctionLike(node) && 'body' in node && node.body) return [...node.parameters, node.type].forEach((part) => part && walk(part, true));
      if (ts.isVariableDeclaration(node) && !node.type) return;
      if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
        const referenced = checker.getSymbolAtLocation(ts.isTypeReferenceNode(node) ? node.typeName : node.expression);
        if (referenced) visit(target(referenced), symbol.name, named);
      }
      ts.forEachChild(node, (child) => walk(child, true));
    };
    for (const declaration of declarations) ts.forEachChild(declaration, (child) => walk(child, true));
  };
  for (const symbol of exports) visit(symbol, 'the entry', false);
  return missing;
}

/** A program compiling `consumer` (its text) as a package user's module beside the declaration `files`, under `options`. */
function consumerProgram(files: Map<string, string>, consumerText: string, options: ts.CompilerOptions): ts.Program {
  const consumer = resolve(ROOT, 'dist/consumer.mts');
  const sources = new Map([...files, [consumer, consumerText]]);
  const folders = new Set([...sources.keys()].map((path) => dirname(path)));
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile, directoryExists } = host;
  host.fileExists = (path) => sources.has(resolve(path)) || fileExists(path);
  host.readFile = (path) => sources.get(resolve(path)) ?? readFile(path);
  host.directoryExists = (path) => folders.has(resolve(path)) || (directoryExists?.(path) ?? false);
  host.getSourceFile = (path, language, ...rest) => {
    const text = sources.get(resolve(path));
    return text === undefined ? getSourceFile(path, language, ...rest) : ts.createSourceFile(path, text, language, true);
  };
  return ts.createProgram([consumer], options, host);
}

/** Input types, beside those named `...Options`, whose optional fields a caller may fill from optional values of its own. */
const INPUT_TYPES = new Set(['ImageDataLike', 'PoseSelection', 'ScaleOutputs']);

/**
 * The optional fields looked into (`checked`), by path (`ProcessVideoOptions.smooth.forgetAfter`),
 * and those among them whose declared type leaves out `undefined` (`faults`): under `exactOptionalPropertyTypes` (TypeScript 7's `tsc --init`) a
 * caller could not forward an optional setting of its own (`{ maxPoses: args.maxPoses }`), though
 * every call takes `undefined` as the field left out. Looked into: the types `entry` exports named
 * `...Options` or in `INPUT_TYPES`, and the `options` of its functions and classes (errors'
 * apart), with the package's types their fields take in turn (functions' apart: callbacks are given results).
 */
function optionalsWithoutUndefined(program: ts.Program, entry: string): { checked: string[]; faults: string[] } {
  const checker = program.getTypeChecker();
  const target = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const packageFolder = dirname(entry);
  const checked: string[] = [];
  const faults: string[] = [];
  const seen = new Set<ts.Type>();
  const takesUndefined = (type: ts.Type): boolean => (type.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0
    || (type.isUnion() && type.types.some(takesUndefined));
  const visit = (type: ts.Type, path: string): void => {
    if (seen.has(type)) return;
    seen.add(type);
    if (type.isUnionOrIntersection()) return type.types.forEach((member) => visit(member, path));
    if (checker.isArrayType(type)) return checker.getTypeArguments(type as ts.TypeReference).forEach((item) => visit(item, path));
    if (!(type.flags & ts.TypeFlags.Object) || type.getCallSignatures().length > 0) return;
    for (const property of checker.getPropertiesOfType(type)) {
      const declaration = property.declarations?.find((d) => d.getSourceFile().fileName.startsWith(packageFolder));
      if (!declaration || !(ts.isPropertySignature(declaration) || ts.isMethodSignature(declaration))) continue;
      const at = `${path}.${property.name}`;
      // A method signature cannot say `| undefined`: only a property of function type can.
      const declared = ts.isPropertySignature(declaration) && declaration.type ? checker.getTypeFromTypeNode(declaration.type) : undefined;
      if (property.flags & ts.SymbolFlags.Optional) {
        checked.push(at);
        if (!(declared && takesUndefined(declared))) faults.push(at);
      }
      if (declared) visit(declared, at);
    }
  };
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map(target);
  // The named types first: a field is reported under its type's name where it has one.
  for (const symbol of exports) {
    if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias) && (symbol.name.endsWith('Options') || INPUT_TYPES.has(symbol.name))) {
      visit(checker.getDeclaredTypeOfSymbol(symbol), symbol.name);
    }
  }
  for (const symbol of exports) {
    if (!(symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class)) || symbol.name.endsWith('Error')) continue;
    const callable = checker.getTypeOfSymbol(symbol);
    for (const signature of [...callable.getCallSignatures(), ...callable.getConstructSignatures()]) {
      const options = signature.parameters.find((parameter) => parameter.name === 'options');
      if (options) visit(checker.getTypeOfSymbol(options), `${symbol.name}(options)`);
    }
  }
  return { checked, faults };
}

describe('type declarations', function () {
  this.timeout(120_000);
  let program: ts.Program;
  let files: Map<string, string>;
  let reached: Map<string, string[]>;
  before(() => {
    ({ program, files } = emitDeclarations());
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

  it('compile for a consumer whose tsconfig includes no global types (TypeScript 6 and later\'s default)', () => {
    // `tsc --init` writes `"types": []`: Node's types then come only from a reference in the declarations.
    const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, types: [], skipLibCheck: false };
    const consumer = consumerProgram(files, "export * from './src/index.js';\n", options);
    const errors = ts.getPreEmitDiagnostics(consumer).map((d) => `${d.file ? relative(ROOT, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    expect(errors).to.deep.equal([]);
  });

  it('let every optional field of the options a caller gives take undefined, for forwarding optional settings under exactOptionalPropertyTypes', () => {
    const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, exactOptionalPropertyTypes: true, noEmit: true };
    const { checked, faults } = optionalsWithoutUndefined(consumerProgram(files, "export * from './src/index.js';\n", options), resolve(ROOT, 'dist/src/index.d.ts'));
    expect(checked).to.include.members(['EstimatorOptions.maxPoses', 'EstimationOptions.signal', 'ProcessVideoOptions.smooth.forgetAfter', 'ProcessVideoOptions.track.maxMissed', 'EstimatorOptions.calibrationImages.channels']);
    expect(faults, 'optional fields to declare `?: T | undefined`').to.deep.equal([]);
  });

  it('take people of a caller\'s own whose id may be undefined (`id: maybeId`) under exactOptionalPropertyTypes, in drawPoses, PoseTracker and PoseSmoother', () => {
    const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, exactOptionalPropertyTypes: true, noEmit: true };
    const consumerText = `import { COCO_KEYPOINTS, drawPoses, PoseSmoother, PoseTracker, type Person, type RgbImage } from './src/index.js';
declare const image: RgbImage;
declare const found: Person;
declare const maybeId: number | undefined;
const built = { ...found, id: maybeId };
drawPoses(image, [built], COCO_KEYPOINTS);
const tracked: Person[] = new PoseTracker({ keypoints: COCO_KEYPOINTS }).update([built]);
// The tracker's people, ids set, come out of the smoother as people the estimator's type describes.
const smoothed: Person[] = new PoseSmoother().apply(tracked, 0);
drawPoses(image, [...smoothed, ...new PoseSmoother().apply([built], 0)], COCO_KEYPOINTS);
`;
    const consumer = consumerProgram(files, consumerText, options);
    const errors = ts.getPreEmitDiagnostics(consumer).map((d) => `${d.file ? relative(ROOT, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    expect(errors).to.deep.equal([]);
  });

  it('export every type that the exports\' declarations name', () => {
    const missing = unexportedTypes(program, join(ROOT, 'src/index.ts'));
    expect([...missing].map(([name, namedBy]) => `${name}, named by ${namedBy}`)).to.deep.equal([]);
  });
});
