/**
 * Results of long runs are written record by record: one string of them all fails past V8's
 * longest string (~512 MiB, `RangeError: Invalid string length`), after all the work.
 */
import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, createWriteStream, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, statfsSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../src/io/atomic.js';
import { JsonArrayText, jsonArrayPieces, type JsonArrayLayout } from '../src/io/json-array.js';
import { JsonLineError, OneJsonValueError, readJsonValues } from '../src/io/json-read.js';
import { ReadBoundError } from '../src/io/read-bounded.js';
import { EvalError } from '../src/eval/errors.js';
import { loadGroundTruth, loadResults, parseGroundTruth } from '../src/eval/data.js';
import { Journal } from '../src/eval/journal.js';
import { runPredict } from '../src/cli/commands/predict.js';
import { cli } from './helpers/cli.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { CLI_PROCESS, CLI_SCRIPT } from './helpers/cli-process.js';

/** V8's longest string on 64-bit platforms: 2^29 - 24 characters. */
const LONGEST_STRING = 2 ** 29 - 24;

const joined = (values: unknown[], layout: JsonArrayLayout): string => [...jsonArrayPieces(values, layout)].join('');

/** `length` bytes of a file from `position`, as text. */
function fileText(path: string, position: number, length: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    return buffer.toString('utf8', 0, readSync(fd, buffer, 0, length, position));
  } finally {
    closeSync(fd);
  }
}
/**
 * Skips a test that writes `bytes` to the temporary folder when the disk has less than twice that
 * free (these machines have once had under 300 MB): a full disk is no defect of the writer.
 */
function needsRoom(context: Mocha.Context, bytes: number): void {
  const { bavail, bsize } = statfsSync(tmpdir());
  const free = bavail * bsize;
  if (free >= 2 * bytes) return;
  console.log(`      skipped: ${(free / 2 ** 20).toFixed(0)} MB free in ${tmpdir()}, and the test writes ${(bytes / 2 ** 20).toFixed(0)} MB`);
  context.skip();
}

const fileStart = (path: string, length: number): string => fileText(path, 0, length);
const fileEnd = (path: string, length: number): string => fileText(path, statSync(path).size - length, length);

describe('results written piece by piece', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'higher-pose-streaming-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the bytes JSON.stringify gives the whole array, in each layout', () => {
    const record = (i: number) => ({
      image_id: i, file_name: `dir/a "b"\n\u00e9\u{1f600}.jpg`, category_id: 1, keypoints: [i / 3, -0, 1e-7, 1e21], score: i / 7,
      nested: { empty: [], none: {}, list: [[1, [2]], { x: null }] },
    });
    for (const values of [[], [record(1)], [record(1), record(2), record(3)], [undefined, () => 1, 'text', 5]]) {
      for (const indent of [0, 1, 2]) expect(joined(values, { indent }), `indent ${indent}`).to.equal(JSON.stringify(values, null, indent));
      // eval's results file: one compact element a line.
      const lines = values.length === 0 ? '[]' : `[\n${values.map((v) => JSON.stringify(v) ?? 'null').join(',\n')}\n]`;
      expect(joined(values, 'line per element')).to.equal(lines);
    }
    const text = new JsonArrayText({ indent: 1 });
    expect([text.element(1), text.element(2), text.end(), text.count]).to.deep.equal(['[\n 1', ',\n 2', '\n]', 2]);
  });

  it('writes results longer than the longest string, memory bounded, into place atomically', async function () {
    needsRoom(this, LONGEST_STRING);
    // Lazily made records sharing one long string: fast to make, ~540 MB of JSON.
    const filler = 'x'.repeat(100_000);
    const count = Math.ceil(LONGEST_STRING / filler.length) + 2;
    function* records(): Generator<object> {
      for (let i = 0; i < count; i++) yield { image_id: i, file_name: filler, category_id: 1, keypoints: [i / 7, 1, 0.5], score: i / 3 };
    }
    const path = join(dir, 'results.json');
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      await writeFileAtomic(path, jsonArrayPieces(records(), { indent: 1 }, '\n'));
    } finally {
      clearInterval(sampler);
    }
    expect(statSync(path).size).to.be.above(LONGEST_STRING);
    expect(peak - before, 'memory grown while writing').to.be.below(200 * 2 ** 20);
    expect(readdirSync(dir)).to.deep.equal(['results.json']);
    // Its first and last records as in JSON.stringify(records, null, 1).
    const [first, last] = [records().next().value, [...records()].at(-1)];
    const head = fileStart(path, 2 * filler.length);
    expect(head.startsWith(`${JSON.stringify([first], null, 1).slice(0, -2)},\n`)).to.equal(true);
    expect(fileEnd(path, 2 * filler.length).endsWith(`,${JSON.stringify([last], null, 1).slice(1)}\n`)).to.equal(true);
  });

  it('BAD CALL - pieces that fail midway leave nothing under either name, and an earlier file untouched', async () => {
    const path = join(dir, 'results.json');
    await writeFileAtomic(path, 'earlier\n');
    function* failing(): Generator<string> {
      yield 'x'.repeat(3 << 20);
      throw new Error('estimate failed');
    }
    let caught: unknown;
    await writeFileAtomic(path, failing()).catch((err: unknown) => (caught = err));
    expect((caught as Error).message).to.equal('estimate failed');
    expect(readdirSync(dir)).to.deep.equal(['results.json']);
    expect(readFileSync(path, 'utf8')).to.equal('earlier\n');
  });

  it('a signal while a file is being written removes its temporary file and ends the process as the signal does', async () => {
    const path = join(dir, 'results.json');
    const script = `import { AtomicFileWriter, removedOnSignal } from './src/io/atomic.ts';
      const writer = await AtomicFileWriter.open(${JSON.stringify(path)});
      removedOnSignal();
      await writer.write('x'.repeat(2 << 20));
      console.log('writing');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(child.stdout!, 'data');
    expect(readdirSync(dir)).to.have.length(1);
    child.kill('SIGINT');
    const [status, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null];
    expect({ status, signal }).to.deep.equal({ status: null, signal: 'SIGINT' });
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('an eval journal longer than the longest string still resumes', async function () {
    needsRoom(this, LONGEST_STRING);
    const path = join(dir, 'results.json.journal');
    const header = { annotationsSha256: 'a'.repeat(64), dataset: 'coco', settings: null };
    const { journal } = await Journal.open(path, header);
    await journal.close();
    // Retried failures of one image, each line replacing the last: a long file, one entry.
    const stream = createWriteStream(path, { flags: 'a' });
    const line = `${JSON.stringify({ imageId: 7, status: 'failed', error: 'y'.repeat(1 << 20) })}\n`;
    for (let written = 0; written <= LONGEST_STRING; written += line.length) {
      if (!stream.write(line)) await once(stream, 'drain');
    }
    stream.write(`${JSON.stringify({ imageId: 7, status: 'ok', ms: 5, results: [] })}\n{"imageId": 8, "sta`);
    stream.end();
    await once(stream, 'close');
    const size = statSync(path).size;
    const { journal: resumed, entries } = await Journal.open(path, header);
    await resumed.close();
    expect([...entries.values()]).to.deep.equal([{ imageId: 7, status: 'ok', ms: 5, results: [] }]);
    // The unfinished last line is cut off.
    expect(statSync(path).size).to.equal(size - '{"imageId": 8, "sta'.length);
  });
});

describe('results read element by element', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'higher-pose-reading-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The elements read from a file holding `text`, `chunkBytes` at a time. */
  const elementsOf = (text: string, chunkBytes?: number): unknown[] => {
    const path = join(dir, 'array.json');
    writeFileSync(path, text);
    return [...readJsonValues(path, chunkBytes)];
  };

  it('gives the elements JSON.parse gives the whole array, whatever the chunks the file is read in', () => {
    const records = [
      { image_id: 1, file_name: 'dir/a "b",]}\\\n\u00e9\u{1f600}.jpg', keypoints: [1 / 3, -0, 1e-7, 1e21], score: 0.5 },
      { nested: { empty: [], none: {}, list: [[1, [2]], { x: null }] } },
    ];
    const texts = [
      '[]', ' \n[ ]\r\n', '[1]', '[-2.5e3,true,false,null,"x",0]', '[ 7 , "]" ,[ ] ,{ } ]\n',
      JSON.stringify(records), ...[0, 1, 2].map((indent) => JSON.stringify(records, null, indent)), joined(records, 'line per element'),
    ];
    for (const text of texts) {
      for (const chunkBytes of [1, 2, 3, 7, 64, undefined]) expect(elementsOf(text, chunkBytes), `${JSON.stringify(text)} in chunks of ${chunkBytes}`).to.deep.equal(JSON.parse(text));
    }
  });

  it('BAD CALL - malformed arrays: a SyntaxError saying where, as JSON.parse refuses them', () => {
    const cases: [string, RegExp][] = [
      ['', /^the file is empty$/],
      ['[1,2', /^the file ends before its array does \(cut short\?\)$/],
      ['[{"a": [1, 2]}, {"b": "]', /^the file ends before its array does/],
      ['[1,]', /^expected an element, found "]" at byte 3$/],
      ['[,1]', /^expected an element, found "," at byte 1$/],
      ['[1,,2]', /^expected an element, found "," at byte 3$/],
      ['[{"a":1} {"a":2}]', /^expected ',' or '\]' after element 0, found "\{" at byte 9$/],
      ['[1] x', /^unexpected "x" at byte 4, after the array's end$/],
      ['[1, {"a": NaN}]', /^element 1 \(from byte 4\): /],
      ['[1, 2 3]', /^expected ',' or '\]' after element 1, found "3" at byte 6$/],
      ['[1, 2x]', /^element 1 \(from byte 4\): /],
    ];
    for (const [text, message] of cases) {
      expect(() => JSON.parse(text), text).to.throw(SyntaxError);
      for (const chunkBytes of [1, 5, undefined]) expect(() => elementsOf(text, chunkBytes), `${text} in chunks of ${chunkBytes}`).to.throw(SyntaxError, message);
    }
  });

  it('the first character tells the layout: an array, JSON Lines (a value a line) or one value, read whole, whatever the chunks', () => {
    for (const chunkBytes of [1, 2, 7, undefined]) {
      const read = `in chunks of ${chunkBytes}`;
      expect(elementsOf('{"results": []}', chunkBytes), read).to.deep.equal([{ results: [] }]);
      expect(elementsOf('\n \r\n{"a": 1}\n\n{"a": 2}', chunkBytes), read).to.deep.equal([{ a: 1 }, { a: 2 }]);
      // Not an array, nor lines of values: one object over several lines (blank lines before it too), a number, a string.
      for (const text of ['{\n "results": [1,\n 2]\n}\n', '\n\n {"a": 1,\n"b": {}}', ' 5', '"text"\n']) {
        expect(() => elementsOf(text, chunkBytes), `${JSON.stringify(text)} ${read}`).to.throw(OneJsonValueError).with.property('value').that.deep.equals(JSON.parse(text));
      }
      // Such a value that is no JSON: JSON.parse's own error, where it goes wrong in the file (text no JSON value
      // begins with, 'x', is refused at its first character: see the bound's test).
      for (const text of ['\n{"a": 1,\n"b" 2}', '{"a": 1,\n"b": ', 'nx']) {
        let parseError: unknown;
        try {
          JSON.parse(text);
        } catch (error) {
          parseError = error;
        }
        expect(() => elementsOf(text, chunkBytes), `${JSON.stringify(text)} ${read}`).to.throw(SyntaxError, (parseError as Error).message);
      }
      // A later line that is no JSON is named.
      expect(() => elementsOf('{"a": 1}\n\n{"a": \n', chunkBytes), read).to.throw(JsonLineError, /^line 3: /);
    }
  });

  it('eval --results reads predict --format jsonl\'s lines as it reads the json array, line by line; a bad line is named', () => {
    const gt = parseGroundTruth({ images: [{ id: 1, file_name: '000000000001.jpg' }, { id: 2, file_name: '000000000002.jpg' }], annotations: [], categories: [{ id: 1 }] }, 'gt.json', 'coco');
    // As predict writes them: the path as given besides the COCO fields, a name past a chunk's end.
    const records = [1, 2, 2].map((id, i) => ({ image_id: id, file_name: `dir/\u00e9 "${i}".jpg`, category_id: 1, keypoints: new Array(51).fill(i + 0.5), score: i / 3 }));
    const arrayPath = join(dir, 'results.json');
    writeFileSync(arrayPath, joined(records, { indent: 1 }));
    const expected = loadResults(arrayPath, gt);
    expect(expected).to.have.length(3);
    const linesPath = join(dir, 'results.jsonl');
    for (const text of [records.map((r) => `${JSON.stringify(r)}\n`).join(''), `${records.map((r) => JSON.stringify(r)).join('\r\n\n')}`]) {
      writeFileSync(linesPath, text);
      expect(loadResults(linesPath, gt), JSON.stringify(text.slice(-20))).to.deep.equal(expected);
      for (const chunkBytes of [1, 7, 64]) expect([...readJsonValues(linesPath, chunkBytes)], `in chunks of ${chunkBytes}`).to.deep.equal(records);
    }
    writeFileSync(linesPath, `${JSON.stringify(records[0])}\n${JSON.stringify(records[1]).slice(0, -1)}\n`);
    expect(() => loadResults(linesPath, gt)).to.throw(EvalError, /results\.jsonl: results file is not valid JSON \(line 2: /);
    writeFileSync(linesPath, `${JSON.stringify(records[0])}\n${JSON.stringify({ ...records[1], image_id: 3 })}\n`);
    expect(() => loadResults(linesPath, gt)).to.throw(EvalError, /results\.jsonl: results\[1\]\.image_id 3 is not an image of gt\.json/);
    // One object that is no array of results, over several lines: refused as before.
    writeFileSync(linesPath, JSON.stringify({ results: records }, null, 1));
    expect(() => loadResults(linesPath, gt)).to.throw(EvalError, /results\.jsonl: results must be an array, got \{/);
  });

  it('a UTF-8 byte order mark (Notepad, PowerShell) is read past, in results and annotations; UTF-16 text is refused naming its encoding', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const record = { image_id: 1, category_id: 1, keypoints: new Array(51).fill(2), score: 0.5 };
    const gtPath = join(dir, 'gt.json');
    writeFileSync(gtPath, Buffer.concat([bom, Buffer.from(JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [], categories: [{ id: 1 }] }))]));
    const gt = loadGroundTruth(gtPath, 'coco');
    expect(gt.images).to.have.length(1);
    const path = join(dir, 'results.json');
    for (const text of [JSON.stringify([record, record]), `${JSON.stringify(record)}\n${JSON.stringify(record)}\n`]) {
      writeFileSync(path, Buffer.concat([bom, Buffer.from(text)]));
      expect(loadResults(path, gt), text).to.deep.equal([record, record]);
    }
    for (const chunkBytes of [1, 2, undefined]) {
      writeFileSync(path, Buffer.concat([bom, Buffer.from(' [1, "\u00e9"]')]));
      expect([...readJsonValues(path, chunkBytes)], `in chunks of ${chunkBytes}`).to.deep.equal([1, '\u00e9']);
    }
    // PowerShell 5's `>` writes UTF-16LE: its NULs would be printed in the message of a JSON syntax error.
    for (const [encoding, mark] of [['UTF-16LE', [0xff, 0xfe]], ['UTF-16BE', [0xfe, 0xff]]] as const) {
      const utf16 = Buffer.from(JSON.stringify([record]), 'utf16le');
      if (encoding === 'UTF-16BE') utf16.swap16();
      for (const file of [path, gtPath]) {
        writeFileSync(file, Buffer.concat([Buffer.from(mark), utf16]));
        const message = new RegExp(`is ${encoding} text \\(its byte order mark\\); it is read as UTF-8: convert it`);
        expect(() => (file === path ? loadResults(path, gt) : loadGroundTruth(gtPath, 'coco')), `${encoding} ${file}`).to.throw(EvalError, message);
      }
    }
  });

  it('a gzip-compressed or zipped file (COCO ships its annotations zipped) is refused saying to decompress it, not as JSON of binary bytes', () => {
    const record = { image_id: 1, category_id: 1, keypoints: new Array(51).fill(2), score: 0.5 };
    const gtDoc = { images: [{ id: 1, file_name: 'a.jpg' }], annotations: [], categories: [{ id: 1 }] };
    const gtPath = join(dir, 'gt.json');
    writeFileSync(gtPath, JSON.stringify(gtDoc));
    const gt = loadGroundTruth(gtPath, 'coco');
    // A zip's local file header: PK\x03\x04, then the rest of an archive.
    const zip = (text: string) => Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.from(text)]);
    for (const [pack, message] of [[gzipSync, /is gzip-compressed: decompress it \(gunzip\), or give it as <\(zcat FILE\)$/], [zip, /is a zip archive: extract it \(unzip\) and give the JSON file inside$/]] as const) {
      const resultsPath = join(dir, 'results.packed');
      writeFileSync(resultsPath, pack(JSON.stringify([record])));
      expect(() => loadResults(resultsPath, gt), `results, ${message}`).to.throw(EvalError, message);
      const annotationsPath = join(dir, 'gt.packed');
      writeFileSync(annotationsPath, pack(JSON.stringify(gtDoc)));
      expect(() => loadGroundTruth(annotationsPath, 'coco'), `annotations, ${message}`).to.throw(EvalError, message);
    }
  });

  it('eval --results <(cat results.jsonl), and a FIFO (read once, as they are): an array, JSON Lines and one object read as from the file', function () {
    if (process.platform === 'win32') this.skip();
    const gtPath = join(dir, 'gt.json');
    writeFileSync(gtPath, JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }, { id: 2, file_name: 'b.jpg' }], annotations: [], categories: [{ id: 1 }] }));
    const gt = loadGroundTruth(gtPath, 'coco');
    // More than a pipe holds (64 KiB) and than a chunk read (1 MiB): the writer waits on the reader.
    const records = Array.from({ length: 6000 }, (_, i) => ({ image_id: 1 + (i % 2), category_id: 1, keypoints: new Array(51).fill(i / 7), score: i / 6000 }));
    const files = { array: joined(records, { indent: 1 }), lines: records.map((r) => `${JSON.stringify(r)}\n`).join(''), object: JSON.stringify({ results: records.slice(0, 2) }, null, 1), number: '5\n' };
    const outcome = (path: string): unknown => {
      try {
        return loadResults(path, gt);
      } catch (error) {
        return (error as Error).message.replace(path, 'PATH');
      }
    };
    const expected: Record<string, unknown> = {};
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(dir, name), text);
      expected[name] = outcome(join(dir, name));
    }
    expect(expected.array).to.deep.equal(expected.lines).and.to.have.length(6000);
    expect(expected.object).to.match(/^PATH: results must be an array, got \{/);
    // Each file through process substitution, and the JSON Lines through a named pipe; read in another process, which would wait forever on a FIFO opened again.
    const script = `import { loadGroundTruth, loadResults } from './src/eval/data.ts';
      const gt = loadGroundTruth(process.argv[1], 'coco');
      const [names, paths] = [process.argv[2].split(','), process.argv.slice(3)];
      const outcomes = {};
      paths.forEach((path, i) => {
        try {
          outcomes[names[i]] = loadResults(path, gt);
        } catch (error) {
          outcomes[names[i]] = error.message.replace(path, 'PATH');
        }
      });
      console.log(JSON.stringify(outcomes));`;
    const fifo = join(dir, 'fifo.jsonl');
    execFileSync('mkfifo', [fifo]);
    const names = Object.keys(files);
    const shell = `cat "$1" > "$2" & exec "$3" --import tsx --input-type=module -e "$4" "$5" "$7" ${names.map((name) => `<(cat "$6/${name}")`).join(' ')} "$2"`;
    const read = spawnSync('bash', ['-c', shell, 'bash', join(dir, 'lines'), fifo, process.execPath, script, gtPath, dir, [...names, 'fifo'].join(',')], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
    expect(read.status, `${read.error ?? ''} ${read.stderr}`).to.equal(0);
    expect(JSON.parse(read.stdout)).to.deep.equal({ ...expected, fifo: expected.lines });
  });

  it('BAD CALL - a value whose text goes on past the bound (an element, a line, the one value, the whitespace before it) is a ReadBoundError naming it, whatever the chunks', () => {
    const long = 'x'.repeat(100);
    const cases: [string, string][] = [
      [`[1, "${long}"]`, 'element 1 (from byte 4) goes on past 64 bytes, the longest JSON value read'],
      [`[1, ${'7'.repeat(100)}]`, 'element 1 (from byte 4) goes on past 64 bytes, the longest JSON value read'],
      [`{"a": 1}\n{"b": "${long}"}\n`, 'line 2 goes on past 64 bytes, the longest JSON value read'],
      [`{"a": 1}\n{"b": 2}\n${' '.repeat(100)}`, 'line 3 goes on past 64 bytes, the longest JSON value read'],
      [`{\n "b": "${long}"\n}`, 'the one JSON value (neither an array nor JSON Lines) goes on past 64 bytes, the longest JSON value read'],
      [`"${long}"`, 'the one JSON value (neither an array nor JSON Lines) goes on past 64 bytes, the longest JSON value read'],
      [`${' '.repeat(100)}[1]`, 'the whitespace before the first value goes on past 64 bytes, the longest JSON value read'],
    ];
    const path = join(dir, 'values.json');
    for (const [text, message] of cases) {
      writeFileSync(path, text);
      for (const chunkBytes of [1, 7, undefined]) {
        expect(() => [...readJsonValues(path, chunkBytes, 64)], `${JSON.stringify(text)} in chunks of ${chunkBytes}`).to.throw(ReadBoundError, message).with.property('reason', 'size');
      }
    }
    // Text no JSON value begins with is refused at its first character, whatever the chunks, not read up to the bound.
    for (const [text, begins] of [['\0\0\0', 'byte 0x00 (at byte 0)'], ['x', "'x' (at byte 0)"], ['  \n y\ny\n', "'y' (at byte 4)"], ['\u00e9', 'byte 0xc3 (at byte 0)']] as const) {
      writeFileSync(path, text);
      for (const chunkBytes of [1, 7, undefined]) {
        expect(() => [...readJsonValues(path, chunkBytes, 64)], JSON.stringify(text)).to.throw(SyntaxError, `the text begins with ${begins}, which no JSON value begins with`);
      }
    }
    // Up to the bound, each is read.
    const fits = `[1, "${'x'.repeat(62)}"]`;
    writeFileSync(path, fits);
    for (const chunkBytes of [1, 7, undefined]) expect([...readJsonValues(path, chunkBytes, 64)]).to.deep.equal(JSON.parse(fits));
  });

  it('BAD CALL - eval --results <(cat /dev/zero), text no JSON value begins with, is refused at its first character, not read forever', function () {
    if (process.platform === 'win32') this.skip();
    const annotations = join(dir, 'annotations.json');
    writeFileSync(annotations, JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [], categories: [{ id: 1 }] }));
    const cli = CLI_PROCESS;
    // In another process, killed past a time limit (SIGKILL: tsx catches SIGTERM): it read on, its memory growing, until the machine
    // had none left; then up to 512 MiB, the longest JSON value, the bound text that does begin as JSON still meets (a string that never ends).
    const shell = 'exec "$0" "$@" --results <(cat /dev/zero)';
    const child = spawnSync('bash', ['-c', shell, process.execPath, ...cli, 'eval', '--annotations', annotations], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    expect(child.signal, 'killed after 60 s: /dev/zero was being read').to.equal(null);
    expect(child.stderr).to.match(/^higher-pose: EvalError: \/dev\/fd\/\d+: results file is not valid JSON \(the text begins with byte 0x00 \(at byte 0\), which no JSON value begins with\)\n/);
    expect(child.status).to.equal(1);
  });

  it('BAD CALL - a device given as the annotations or the results (eval --annotations /dev/zero) is refused at once, not read forever', function () {
    if (process.platform === 'win32') this.skip();
    // In another process, killed past a time limit (SIGKILL: tsx catches SIGTERM): a synchronous read of /dev/zero could not be stopped here.
    const script = `import { loadGroundTruth, loadResults, parseGroundTruth } from './src/eval/data.ts';
      const gt = parseGroundTruth({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [], categories: [{ id: 1 }] }, 'gt.json', 'coco');
      for (const read of [() => loadGroundTruth('/dev/zero', 'coco'), () => loadResults('/dev/zero', gt)]) {
        try {
          read();
          console.log('read');
        } catch (error) {
          console.log(error.name + ': ' + error.message);
        }
      }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    expect(child.signal, 'killed after 30 s: /dev/zero was being read').to.equal(null);
    expect(child.stdout.split('\n')).to.deep.equal([
      'EvalError: Cannot read annotation file /dev/zero: is a character device (such as /dev/zero or a terminal), not a file or a pipe',
      'EvalError: Cannot read results file /dev/zero: is a character device (such as /dev/zero or a terminal), not a file or a pipe',
      '',
    ]);
  });

  it('an eval results file longer than the longest string is scored', function () {
    needsRoom(this, LONGEST_STRING);
    const gt = parseGroundTruth({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [], categories: [{ id: 1 }] }, 'gt.json', 'coco');
    // Results of predict, whose file_name may be long: ~540 MB of them.
    const fileName = `${'d/'.repeat(50_000)}a.jpg`;
    const count = Math.ceil(LONGEST_STRING / fileName.length) + 2;
    function* records(): Generator<object> {
      for (let i = 0; i < count; i++) yield { image_id: 1, file_name: fileName, category_id: 1, keypoints: new Array(51).fill(i % 7), score: i / count };
    }
    const path = join(dir, 'results.json');
    const fd = openSync(path, 'w');
    try {
      for (const piece of jsonArrayPieces(records(), { indent: 1 })) writeSync(fd, piece);
    } finally {
      closeSync(fd);
    }
    expect(statSync(path).size).to.be.above(LONGEST_STRING);
    const results = loadResults(path, gt);
    expect(results).to.have.length(count);
    expect(results.at(-1)).to.deep.equal({ image_id: 1, category_id: 1, keypoints: new Array(51).fill((count - 1) % 7), score: (count - 1) / count });
    // A file cut short is refused as invalid JSON, not scored on the results it holds.
    truncateSync(path, statSync(path).size - 10);
    expect(() => loadResults(path, gt)).to.throw(EvalError, /results\.json: results file is not valid JSON \(the file ends before its array does/);
  });
});

describe('predict writes each image\'s people as soon as it is done', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'higher-pose-predict-stream-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const model = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];

  /**
   * What `body` prints on stdout, captured (console.error silenced) and both restored after it:
   * `captured.text` is what it has printed so far, `captured.take()` that text, cleared.
   */
  async function capturingStdout(body: (captured: { readonly text: string; take(): string }) => Promise<void>): Promise<string> {
    const { write } = process.stdout;
    const error = console.error;
    let text = '';
    process.stdout.write = ((chunk: string) => ((text += chunk), true)) as typeof process.stdout.write;
    console.error = () => {};
    try {
      await body({
        get text() { return text; },
        take() {
          const taken = text;
          text = '';
          return taken;
        },
      });
    } finally {
      process.stdout.write = write;
      console.error = error;
    }
    return text;
  }

  it('on stdout, before the next images are estimated, in the bytes of JSON.stringify', async () => {
    const images = ['a.jpg', 'b.jpg', 'c.jpg'].map((name) => join(dir, name));
    for (const image of images) copyFileSync(DEMO_IMAGE(), image);
    const printedWhenEstimated: number[] = [];
    const listeners: number[] = [];
    let stdout = await capturingStdout(async (captured) => {
      await runPredict(images, { preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256 }, { onStageTimes: () => printedWhenEstimated.push(captured.text.length) });
      // Another run in this process hears stdout's errors with the listener the first added.
      listeners.push(process.stdout.listenerCount('error'));
      await runPredict(images.slice(0, 1), { preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), inputSize: 256, maxPoses: 1 });
      listeners.push(process.stdout.listenerCount('error'));
    });
    expect(listeners[1]).to.equal(listeners[0]);
    const [allText, secondRun] = stdout.split('\n');
    expect(JSON.parse(secondRun!)).to.have.length(1);
    stdout = `${allText}\n`;
    const records = JSON.parse(stdout) as { file_name: string }[];
    expect(stdout).to.equal(`${JSON.stringify(records)}\n`);
    expect(records.length).to.be.above(0);
    // When the last image is estimated, the people of the first are out (held back, they would all wait for the end).
    const firstImage = JSON.stringify(records.filter((r) => r.file_name === images[0])).slice(0, -1);
    expect(printedWhenEstimated).to.have.length(3);
    expect(printedWhenEstimated[2]).to.be.at.least(firstImage.length);
    expect(stdout.startsWith(firstImage)).to.equal(true);
  });

  it('--out: the file JSON.stringify(records, null, 1) gives; Ctrl-C during the run leaves no file nor the folder it made, and ends by the signal', async () => {
    const images = ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg', 'f.jpg'].map((name) => join(dir, name));
    for (const image of images) copyFileSync(DEMO_IMAGE(), image);
    const out = join(dir, 'out', 'results.json');
    const script = CLI_SCRIPT;
    const start = (args: string[], run = script) => spawn(process.execPath, ['--import', 'tsx', '-e', run, 'predict', ...args, ...model, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    const done = start(images.slice(0, 2));
    const [status] = await once(done, 'exit') as [number];
    expect(status).to.equal(0);
    const text = readFileSync(out, 'utf8');
    expect(text).to.equal(`${JSON.stringify(JSON.parse(text), null, 1)}\n`);
    rmSync(join(dir, 'out'), { recursive: true });

    // c.jpg's read says so on stderr and never answers: the run holds the results' temporary file, with images left to estimate.
    const reading = 'reading c.jpg\n';
    const cReadForever = `const fs = require('node:fs');
      const promises = require('node:fs/promises');
      const { readFile } = promises;
      promises.readFile = (path, ...rest) => {
        if (!String(path).endsWith('c.jpg')) return readFile(path, ...rest);
        fs.writeSync(2, ${JSON.stringify(reading)});
        setInterval(() => {}, 1000);
        return new Promise(() => {});
      };
      require('node:module').syncBuiltinESMExports();
      ${script}`;
    const stopped = start(images, cReadForever);
    try {
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        stopped.stderr!.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes(reading)) resolve();
        });
        stopped.on('exit', () => reject(new Error(`the run ended before reading c.jpg: ${stderr}`)));
      });
      expect(readdirSync(join(dir, 'out')), 'the results\' temporary file').to.have.length(1);
      stopped.kill('SIGINT');
      const [, signal] = await once(stopped, 'exit') as [number | null, NodeJS.Signals | null];
      expect(signal, stderr).to.equal('SIGINT');
    } finally {
      stopped.kill('SIGKILL');
    }
    // Nor the folder the run made for it.
    expect(existsSync(join(dir, 'out'))).to.equal(false);
  });

  it('--format jsonl: each record of the json array on a line of its own, the lines of an image out before the next is estimated; to --out too', async () => {
    const images = ['a.jpg', 'b.jpg'].map((name) => join(dir, name));
    for (const image of images) copyFileSync(DEMO_IMAGE(), image);
    const printedWhenEstimated: number[] = [];
    const options = { preset: 'tiny_coco' as const, weights: TINY_COCO_CHECKPOINT(), inputSize: 256 };
    let array: unknown[] = [];
    const lines = await capturingStdout(async (captured) => {
      await runPredict(images, options);
      array = JSON.parse(captured.take()) as unknown[];
      await runPredict(images, { ...options, format: 'jsonl' }, { onStageTimes: () => printedWhenEstimated.push(captured.text.length) });
    });
    expect(array.length).to.be.above(0);
    expect(lines.endsWith('\n')).to.equal(true);
    const records = lines.slice(0, -1).split('\n').map((line) => JSON.parse(line) as { file_name: string });
    expect(records).to.deep.equal(array);
    // When the second image is estimated, every line of the first is out.
    const firstImage = records.filter((r) => r.file_name === images[0]).map((r) => `${JSON.stringify(r)}\n`).join('');
    expect(printedWhenEstimated).to.have.length(2);
    expect(printedWhenEstimated[1]).to.be.at.least(firstImage.length);
    expect(lines.startsWith(firstImage)).to.equal(true);

    const out = join(dir, 'results.jsonl');
    expect(await cli('predict', ...images, ...model, '--format', 'jsonl', '--out', out)).to.equal(0);
    expect(readFileSync(out, 'utf8')).to.equal(lines);
  });
});
