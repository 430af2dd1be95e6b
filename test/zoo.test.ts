import { expect } from 'chai';
import { Command, CommanderError } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerWeights } from '../src/cli/commands/weights.js';
import { PRESET_NAMES } from '../src/config/presets.js';
import { findEntry, inputSizeHint, isManual, ZOO, ZOO_NAMES, ZooError, type DirectEntry } from '../src/zoo/catalog.js';
import { cachedPath, fetchWeights, type DownloadProgress, type FetchWeightsOptions } from '../src/zoo/download.js';
import { createEstimator } from '../src/estimator.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { listenOnLoopback } from './helpers/loopback.js';

/** 300 KiB of deterministic bytes: a sha256 chain, so no two blocks are equal. */
function makePayload(): Buffer {
  const blocks: Buffer[] = [];
  let block = createHash('sha256').update('higher-pose zoo test').digest();
  for (let i = 0; i < (300 * 1024) / 32; i++) {
    blocks.push(block);
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat(blocks);
}

const PAYLOAD = makePayload();
const PAYLOAD_SHA256 = createHash('sha256').update(PAYLOAD).digest('hex');
const FILE = 'weights.pth';
// More requests than any test needs: a retry loop gone wrong fails fast instead of spinning.
const MAX_REQUESTS = 10;
// What the server waits for at most (dropWhen, sendWhen): a client that never gets there fails its test instead of hanging it.
const STUCK_MS = 10_000;

/** What the test server does; reset before each test. */
interface Behaviour {
  /** Bytes sent on the first request before the connection is dropped... */
  dropFirstAfter?: number;
  /**
   * ...once this settles. A connection that fails loses the body bytes the client has received
   * but not yet written (fetch's, the file's write), so the drop waits until it has written them.
   */
  dropWhen?: Promise<void>;
  ignoreRange?: boolean;
  /** The response sent once this settles (a download that other calls wait for), instead of at once. */
  sendWhen?: Promise<void>;
  /** The file served; default PAYLOAD. */
  file?: Buffer;
}

interface Logged {
  url: string;
  range?: string;
}

/** A file server on 127.0.0.1 with Range support and scriptable failures. */
class TestServer {
  behaviour: Behaviour = {};
  requests: Logged[] = [];
  private server: Server = createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    return listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  reset(behaviour: Behaviour = {}): void {
    this.behaviour = behaviour;
    this.requests = [];
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const { sendWhen } = this.behaviour;
    if (sendWhen === undefined) return this.respond(req, res);
    void Promise.race([sendWhen, delay(STUCK_MS)]).then(() => this.respond(req, res));
  }

  private respond(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ url: req.url ?? '', range: req.headers.range });
    if (this.requests.length > MAX_REQUESTS) return void res.writeHead(410).end();
    if (req.url === '/moved/' + FILE) return void res.writeHead(302, { Location: '/files/' + FILE }).end();
    if (req.url !== '/files/' + FILE) return void res.writeHead(404).end();
    const start = this.rangeStart(req);
    const file = this.behaviour.file ?? PAYLOAD;
    if (start >= file.length) return void res.writeHead(416, { 'Content-Range': `bytes */${file.length}` }).end();
    const body = file.subarray(start);
    const headers: Record<string, string | number> = { 'Content-Length': body.length, 'Accept-Ranges': 'bytes' };
    if (start > 0) headers['Content-Range'] = `bytes ${start}-${file.length - 1}/${file.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    const drop = this.requests.length === 1 ? this.behaviour.dropFirstAfter : undefined;
    if (drop === undefined) return void res.end(body);
    // end(), not destroy(): a FIN after the data (a reset could discard it); the client then
    // sees the connection close short of Content-Length.
    res.write(body.subarray(0, drop), () => void Promise.race([this.behaviour.dropWhen, delay(STUCK_MS)]).then(() => res.socket?.end()));
  }

  private rangeStart(req: IncomingMessage): number {
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    return match && !this.behaviour.ignoreRange ? Number(match[1]) : 0;
  }
}

/** A timer that does not keep mocha's process alive. */
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** fetch that refuses anything but the local server, so no test can reach the internet. */
const localFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : input);
  if (url.hostname !== '127.0.0.1') throw new Error(`test tried to reach ${url.href}`);
  return fetch(input, init);
};

function testEntry(checksum: Pick<DirectEntry, 'sha256' | 'sha256Prefix'>): DirectEntry {
  return {
    name: 'test_w32',
    preset: 'tiny_coco',
    inputSize: 512,
    fileName: FILE,
    url: 'https://example.invalid/should-not-be-used/' + FILE,
    naming: 'official',
    results: [],
    ...checksum,
  };
}

describe('model zoo', () => {
  const server = new TestServer();
  let base = '';
  let cacheDir = '';

  before(async () => {
    base = await server.start();
  });
  after(() => server.stop());
  beforeEach(() => {
    server.reset();
    cacheDir = mkdtempSync(join(tmpdir(), 'higher-pose-zoo-'));
  });
  afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

  /** Server drops the first response after half the file, once the download has written it; pass the result to fetchWeights. */
  function dropHalfway(): Pick<FetchWeightsOptions, 'onProgress'> {
    const half = PAYLOAD.length / 2;
    const partial = join(cacheDir, `${FILE}.partial`);
    let release = () => {};
    server.reset({ dropFirstAfter: half, dropWhen: new Promise<void>((resolve) => (release = resolve)) });
    // Received, the half is being written: the file is watched until it holds it.
    let watching: NodeJS.Timeout | undefined;
    const written = (): void => {
      if ((statSync(partial, { throwIfNoEntry: false })?.size ?? 0) < half) return;
      clearInterval(watching);
      release();
    };
    return {
      onProgress: (progress) => {
        if (progress.received >= half && watching === undefined) watching = setInterval(written, 1).unref();
      },
    };
  }

  function options(extra: FetchWeightsOptions = {}): FetchWeightsOptions {
    return { cacheDir, baseUrl: `${base}/files/`, fetchImpl: localFetch, retryDelayMs: 0, ...extra };
  }

  describe('catalogue', () => {
    it('has unique names, known presets and exactly one source per entry', () => {
      expect(new Set(ZOO_NAMES).size).to.equal(ZOO.length);
      for (const entry of ZOO) {
        expect(PRESET_NAMES, entry.name).to.include(entry.preset);
        expect(isManual(entry) !== (entry.url !== undefined), entry.name).to.equal(true);
      }
    });

    it('takes the mmpose checksum prefixes from the file names, over https', () => {
      const mmpose = ZOO.filter((entry) => entry.naming === 'mmpose');
      expect(mmpose.map((entry) => entry.name)).to.have.members([
        'coco_w32_512_mmpose',
        'coco_w32_640_mmpose',
        'coco_w48_512_mmpose',
        'crowdpose_w32_512_mmpose',
      ]);
      for (const entry of mmpose) {
        expect(entry.fileName).to.contain(`-${entry.sha256Prefix}_`);
        expect(entry.url).to.equal(`https://download.openmmlab.com/mmpose/bottom_up/${entry.fileName}`);
      }
    });

    it('runs the mmpose W48 model at its training size 512 with the W48 tensors', () => {
      const entry = findEntry('coco_w48_512_mmpose');
      expect(entry.preset).to.equal('coco_w48_640');
      expect(entry.inputSize).to.equal(512);
      // weights fetch says how to run it; the others run at their preset's size.
      expect(inputSizeHint(entry)).to.equal('coco_w48_512_mmpose was trained at input 512: run it with --preset coco_w48_640 --input-size 512 (inputSize: 512 in the API)');
      expect(ZOO.filter((e) => inputSizeHint(e) !== undefined).map((e) => e.name)).to.deep.equal(['coco_w48_512_mmpose']);
    });

    it('rejects an unknown name, listing the valid ones', () => {
      expect(() => findEntry('coco_w64_1024')).to.throw(ZooError, /coco_w64_1024.*coco_w32_512, coco_w32_640/);
    });
  });

  describe('fetchWeights', () => {
    it('downloads into the cache and verifies the full sha256', async () => {
      const progress: DownloadProgress[] = [];
      const path = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options({ onProgress: (p) => progress.push(p) }));
      expect(path).to.equal(join(cacheDir, FILE));
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
      expect(existsSync(`${path}.partial`)).to.equal(false);
      expect(server.requests).to.deep.equal([{ url: `/files/${FILE}`, range: undefined }]);
      expect(progress.at(-1)).to.deep.equal({ received: PAYLOAD.length, total: PAYLOAD.length, requestStart: 0 });
    });

    it('accepts a matching sha256 prefix (mmpose file names)', async () => {
      const entry = { ...findEntry('coco_w32_512_mmpose'), fileName: FILE, sha256Prefix: PAYLOAD_SHA256.slice(0, 8) } as DirectEntry;
      const path = await fetchWeights(entry, options());
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
    });

    it('follows redirects', async () => {
      const path = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options({ baseUrl: `${base}/moved` }));
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
      expect(server.requests.map((r) => r.url)).to.deep.equal([`/moved/${FILE}`, `/files/${FILE}`]);
    });

    it('resumes with a Range request when the connection drops mid-transfer', async () => {
      const path = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options({ retries: 1, ...dropHalfway() }));
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
      expect(server.requests).to.have.length(2);
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(server.requests[1].range ?? '')?.[1]);
      expect(resumedAt).to.equal(PAYLOAD.length / 2);
    });

    it('keeps the partial file of a failed run and resumes it on the next run', async () => {
      const entry = testEntry({ sha256: PAYLOAD_SHA256 });
      const error = await fetchWeights(entry, options({ retries: 0, ...dropHalfway() })).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ZooError).with.property('message').that.matches(/run the command again to resume/);
      const partial = join(cacheDir, `${FILE}.partial`);
      const kept = readFileSync(partial).length;
      expect(kept).to.equal(PAYLOAD.length / 2);
      expect(existsSync(join(cacheDir, FILE))).to.equal(false);

      const path = await fetchWeights(entry, options({ retries: 0 }));
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
      expect(server.requests[1].range).to.equal(`bytes=${kept}-`);
    });

    it('verifies a partial file that is already whole (HTTP 416) without downloading it again', async () => {
      writeFileSync(join(cacheDir, `${FILE}.partial`), PAYLOAD);
      const path = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options());
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
      expect(server.requests).to.deep.equal([{ url: `/files/${FILE}`, range: `bytes=${PAYLOAD.length}-` }]);
      expect(existsSync(join(cacheDir, `${FILE}.partial`))).to.equal(false);
    });

    it('restarts from the beginning when the server ignores Range', async () => {
      server.reset({ ignoreRange: true });
      // Garbage in the partial file proves it was discarded, not appended to.
      writeFileSync(join(cacheDir, `${FILE}.partial`), Buffer.alloc(1000, 7));
      const path = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options());
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
      expect(server.requests).to.deep.equal([{ url: `/files/${FILE}`, range: 'bytes=1000-' }]);
    });

    it('deletes the download and names both digests on a checksum mismatch', async () => {
      const wrong = 'ab'.repeat(32);
      const error = await fetchWeights(testEntry({ sha256: wrong }), options()).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ZooError);
      expect((error as Error).message).to.contain(`expected sha256 ${wrong}`).and.contain(`got sha256 ${PAYLOAD_SHA256}`);
      expect(existsSync(join(cacheDir, FILE))).to.equal(false);
      expect(existsSync(join(cacheDir, `${FILE}.partial`))).to.equal(false);
    });

    it('does not download a verified cached file again', async () => {
      const entry = testEntry({ sha256: PAYLOAD_SHA256 });
      await fetchWeights(entry, options());
      const path = await fetchWeights(entry, options());
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
      expect(server.requests).to.have.length(1);
    });

    it('replaces a corrupt cached file', async () => {
      writeFileSync(join(cacheDir, FILE), Buffer.alloc(PAYLOAD.length));
      const path = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options());
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
      expect(server.requests).to.have.length(1);
    });

    it('BAD CALL - a folder under the checkpoint\'s name in the cache: a ZooError naming it, direct download or manual', async () => {
      mkdirSync(join(cacheDir, FILE));
      const direct = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options()).catch((e: unknown) => e);
      expect(direct).to.be.instanceOf(ZooError).with.property('message').that.matches(/weights\.pth is not a file \(a folder\?\)/);
      mkdirSync(join(cacheDir, 'pose_higher_hrnet_w32_512.pth'));
      const manual = await fetchWeights(findEntry('coco_w32_512'), options()).catch((e: unknown) => e);
      expect(manual).to.be.instanceOf(ZooError).with.property('message').that.matches(/pose_higher_hrnet_w32_512\.pth is not a file/);
      expect(server.requests).to.have.length(0);
    });

    it('BAD CALL - a cache folder that cannot be made (a file in the way): a ZooError naming it', async () => {
      const file = join(cacheDir, 'not-a-folder');
      writeFileSync(file, 'x');
      for (const dir of [file, join(file, 'sub')]) {
        const error = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options({ cacheDir: dir })).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(ZooError).with.property('message').that.contains(`Cannot use ${dir} as the weights cache folder`);
      }
      expect(server.requests).to.have.length(0);
    });

    it('BAD CALL - no network: a ZooError naming the URL and where to save the file downloaded by hand; nothing under the final name', async () => {
      const offline = (async () => {
        throw new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND example.org') });
      }) as typeof fetch;
      const entry = testEntry({ sha256: PAYLOAD_SHA256 });
      const error = await fetchWeights(entry, options({ fetchImpl: offline, retries: 1 })).catch((e: unknown) => e);
      const url = `${base}/files/${FILE}`;
      expect(error).to.be.instanceOf(ZooError).with.property('message').that.equals(
        `Download of ${url} failed after 2 attempt(s): fetch failed (getaddrinfo ENOTFOUND example.org). Run the command again to retry, `
          + `or download ${url} by hand and save it as ${join(cacheDir, FILE)} (the next fetch verifies its checksum).`,
      );
      expect(readdirSync(cacheDir)).to.deep.equal([]);
    });

    it('BAD CALL - no network, and a file saved by hand that is not the checkpoint: the error says it was removed, and why', async () => {
      const offline = (async () => {
        throw new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND example.org') });
      }) as typeof fetch;
      const saved = Buffer.alloc(1000, 7);
      writeFileSync(join(cacheDir, FILE), saved);
      const error = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options({ fetchImpl: offline, retries: 0 })).catch((e: unknown) => e);
      const digest = createHash('sha256').update(saved).digest('hex');
      expect(error).to.be.instanceOf(ZooError).with.property('message').that.matches(/\(the next fetch verifies its checksum\)\. The file that was under that name was removed: Checksum mismatch/)
        .and.contains(`expected sha256 ${PAYLOAD_SHA256}, got sha256 ${digest}.`);
      expect(readdirSync(cacheDir)).to.deep.equal([]);
    });

    it('fails without retrying on HTTP 404', async () => {
      const entry = { ...testEntry({ sha256: PAYLOAD_SHA256 }), fileName: 'missing.pth' };
      const error = await fetchWeights(entry, options()).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ZooError).with.property('message').that.contains('HTTP 404');
      expect(server.requests).to.have.length(1);
    });

    it('downloads the bundled tiny checkpoint from the server, and the estimator runs it as the original', async () => {
      const checkpoint = readFileSync(TINY_COCO_CHECKPOINT());
      server.reset({ file: checkpoint });
      const sha256 = createHash('sha256').update(checkpoint).digest('hex');
      const path = await fetchWeights(testEntry({ sha256 }), options());
      const [downloaded, original] = await Promise.all([path, TINY_COCO_CHECKPOINT()].map((weights) => createEstimator({ preset: 'tiny_coco', weights, inputSize: 256 })));
      try {
        const people = await downloaded.estimatePoses(DEMO_IMAGE());
        expect(people.length).to.be.greaterThan(0);
        expect(people).to.deep.equal(await original.estimatePoses(DEMO_IMAGE()));
      } finally {
        await Promise.all([downloaded.dispose(), original.dispose()]);
      }
    });

    it('downloads a file once when several calls fetch it at the same time: the later ones wait', async () => {
      const waited: string[] = [];
      let bothWaiting = () => {};
      // The download is answered once the two other calls wait for its lock: it cannot finish before they ask.
      server.reset({ sendWhen: new Promise<void>((resolve) => (bothWaiting = resolve)) });
      const onWait = (lock: string): void => {
        waited.push(lock);
        if (waited.length === 2) bothWaiting();
      };
      const entry = testEntry({ sha256: PAYLOAD_SHA256 });
      const paths = await Promise.all([0, 1, 2].map(() => fetchWeights(entry, options({ onWait }))));
      expect(paths).to.deep.equal([0, 1, 2].map(() => join(cacheDir, FILE)));
      expect(readFileSync(paths[0]).equals(PAYLOAD)).to.equal(true);
      expect(server.requests).to.have.length(1);
      expect(waited).to.deep.equal([0, 1].map(() => join(cacheDir, `${FILE}.lock`)));
      expect(readdirSync(cacheDir)).to.deep.equal([FILE]);
    });

    it('takes over the lock of a download whose process was killed', async () => {
      const lock = join(cacheDir, `${FILE}.lock`);
      mkdirSync(lock);
      const minuteAgo = new Date(Date.now() - 60_000);
      utimesSync(lock, minuteAgo, minuteAgo);
      const path = await fetchWeights(testEntry({ sha256: PAYLOAD_SHA256 }), options());
      expect(readFileSync(path).equals(PAYLOAD)).to.equal(true);
      expect(existsSync(lock)).to.equal(false);
    });

    it('tells where to download a manual entry and where to put it', async () => {
      const error = await fetchWeights(findEntry('coco_w32_512'), options()).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ZooError);
      const message = (error as Error).message;
      expect(message).to.contain('pose_higher_hrnet_w32_512.pth');
      expect(message).to.contain('https://drive.google.com/drive/folders/1X9-TzWpwbX2zQf2To8lB-ZQHMYviYYh6');
      expect(message).to.contain(`save it as ${join(cacheDir, 'pose_higher_hrnet_w32_512.pth')}`);
      expect(message).to.contain('--weights PATH');
      expect(server.requests).to.have.length(0);
    });

    it('uses a manual download once it is in the cache', async () => {
      const entry = findEntry('coco_w48_640');
      writeFileSync(cachedPath(entry, cacheDir), PAYLOAD);
      expect(await fetchWeights(entry, options())).to.equal(join(cacheDir, 'pose_higher_hrnet_w48_640.pth.tar'));
    });
  });

  describe('higher-pose weights', () => {
    /** Runs the CLI in-process; commander's exit becomes a CommanderError. */
    async function cli(args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
      const captured = { out: '', err: '' };
      // As buildProgram sets it up: usage mistakes show the help.
      const program = new Command('higher-pose')
        .showHelpAfterError()
        .exitOverride()
        .configureOutput({ writeOut: (s) => void (captured.out += s), writeErr: (s) => void (captured.err += s) });
      registerWeights(program);
      try {
        await program.parseAsync(args, { from: 'user' });
        return { ...captured, exitCode: 0 };
      } catch (error) {
        if (!(error instanceof CommanderError)) throw error;
        return { ...captured, exitCode: error.exitCode };
      }
    }

    it('lists every entry with its preset, naming and source', async () => {
      const { out, exitCode } = await cli(['weights', 'list', '--cache-dir', cacheDir]);
      expect(exitCode).to.equal(0);
      expect(out).to.match(/^NAME\s+PRESET\s+INPUT\s+NAMING\s+SIZE\s+CACHED\s+SOURCE\n/);
      for (const name of ZOO_NAMES) expect(out).to.match(new RegExp(`^${name}\\s`, 'm'));
      expect(out).to.match(/^coco_w48_512_mmpose\s+coco_w48_640\s+512\s+mmpose\s+\?\s+no\s+download\.openmmlab\.com$/m);
    });

    it('takes an empty $HIGHER_POSE_CACHE as unset, as the other variables (~/.cache/higher-pose, not the working folder)', async () => {
      const saved = process.env.HIGHER_POSE_CACHE;
      process.env.HIGHER_POSE_CACHE = '';
      try {
        const { out, exitCode } = await cli(['weights', 'list']);
        expect(exitCode).to.equal(0);
        expect(out.split('\n').at(-2)).to.equal(`Cache: ${join(homedir(), '.cache', 'higher-pose')}`);
      } finally {
        if (saved === undefined) delete process.env.HIGHER_POSE_CACHE;
        else process.env.HIGHER_POSE_CACHE = saved;
      }
    });

    it('BAD CALL - a file in the way of $HIGHER_POSE_CACHE is a usage error naming the variable, as for --cache-dir', async () => {
      const saved = process.env.HIGHER_POSE_CACHE;
      const file = join(cacheDir, 'not-a-folder');
      writeFileSync(file, '');
      process.env.HIGHER_POSE_CACHE = join(file, 'cache');
      try {
        const { err, exitCode } = await cli(['weights', 'fetch', 'coco_w32_512']);
        expect(exitCode).to.equal(2);
        expect(err).to.contain(`error: $HIGHER_POSE_CACHE ${join(file, 'cache')}: ${file} is a file, where weights fetch needs a folder (for the weights cache); give a folder, which is made if missing`);
      } finally {
        if (saved === undefined) delete process.env.HIGHER_POSE_CACHE;
        else process.env.HIGHER_POSE_CACHE = saved;
      }
    });

    it('BAD CALL - reports an unknown name with the valid names, as a usage error (exit 2) as an unknown preset is', async () => {
      const { err, exitCode } = await cli(['weights', 'fetch', 'nope', '--cache-dir', cacheDir]);
      expect(exitCode).to.equal(2);
      expect(err).to.contain('Unknown model "nope"').and.contain(ZOO_NAMES.join(', '));
    });

    it('explains a manual download', async () => {
      // A download to make, not a mistake in the command line: a ZooError, which main reports as every command's failures (exit 1), with no usage text.
      const error = await cli(['weights', 'fetch', 'crowdpose_w48_640', '--cache-dir', cacheDir]).then(() => undefined, (thrown: unknown) => thrown);
      expect(error).to.be.instanceOf(ZooError);
      expect((error as ZooError).message).to.contain(join(cacheDir, 'pose_higher_hrnet_w48_640_crowdpose.pth.tar'));
    });

    it('prints the path of a cached file', async () => {
      writeFileSync(join(cacheDir, 'pose_higher_hrnet_w32_512.pth'), PAYLOAD);
      const { out, exitCode } = await cli(['weights', 'fetch', 'coco_w32_512', '--cache-dir', cacheDir]);
      expect(exitCode).to.equal(0);
      expect(out).to.equal(`${join(cacheDir, 'pose_higher_hrnet_w32_512.pth')}\n`);
    });
  });
});
