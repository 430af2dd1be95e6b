/**
 * `higher-pose eval` end to end with the bundled tiny model on the COCO slice, run as a real
 * process so that it can be killed halfway and resumed.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TINY_COCO_CHECKPOINT } from '../src/paths.js';
import { loadGroundTruth, loadResults } from '../src/eval/data.js';
import { cocoRoot } from './helpers/fixtures.js';
import { CLI_PROCESS } from './helpers/cli-process.js';

const LIMIT = 8;

/** The CLI from source, through tsx (the compiled bin needs `npm run build`). */
function cliArgs(args: string[]): string[] {
  return [...CLI_PROCESS, ...args];
}

describe('higher-pose eval on the COCO slice with the tiny model @fixtures', function () {
  const annotations = join(cocoRoot(), 'annotations', 'person_keypoints_val2017.json');
  const images = join(cocoRoot(), 'val2017');
  let dir: string;
  const common = (out: string): string[] => [
    'eval', '--images', images, '--annotations', annotations, '--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(),
    '--input-size', '256', '--no-flip', '--limit', String(LIMIT), '--out', out,
  ];

  before(function () {
    if (!existsSync(annotations)) {
      console.log(`    skipped: COCO slice not found at ${cocoRoot()} (set HIGHER_POSE_COCO)`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'higher-pose-eval-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('completes, writes a valid results file and prints the table; killed halfway, it resumes to the same file', async () => {
    const straight = join(dir, 'straight.json');
    const run = spawnSync(process.execPath, cliArgs(common(straight)), { encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/AP\s*\|\s*AP50/);
    expect(run.stderr).to.match(new RegExp(`coco: ${LIMIT} images \\(${LIMIT} estimated, 0 resumed\\)`));
    const stages = /stages, mean over the (\d+) image\(s\) estimated now: read ([\d.]+) ms, preprocess ([\d.]+) ms, network ([\d.]+) ms, post-processing ([\d.]+) ms/.exec(run.stderr);
    expect(stages, run.stderr).to.not.equal(null);
    expect(Number(stages![1])).to.equal(LIMIT);
    expect(stages!.slice(2).map(Number).every((ms) => ms > 0)).to.equal(true);
    const gt = loadGroundTruth(annotations, 'coco');
    expect(loadResults(straight, gt).length).to.be.greaterThan(0);

    const resumed = join(dir, 'resumed.json');
    const journal = `${resumed}.journal`;
    const child = spawn(process.execPath, cliArgs(common(resumed)), { stdio: 'ignore' });
    // Kill it (no chance to clean up) once a few images are in the journal.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const lines = existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).length : 0;
        if (lines >= 4) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
      child.on('error', reject);
    });
    expect(existsSync(resumed), 'no results file from the killed run').to.equal(false);
    // Complete lines only (a line cut by the kill is dropped on resume), less the header.
    const done = readFileSync(journal, 'utf8').split('\n').length - 2;
    expect(done).to.be.within(3, LIMIT - 1);

    const rerun = spawnSync(process.execPath, cliArgs(common(resumed)), { encoding: 'utf8' });
    expect(rerun.status, rerun.stderr).to.equal(0);
    expect(rerun.stderr).to.match(new RegExp(`coco: ${LIMIT} images \\(${LIMIT - done} estimated, ${done} resumed\\)`));
    expect(rerun.stderr).to.match(new RegExp(`stages, mean over the ${LIMIT - done} image\\(s\\) estimated now`));
    expect(readFileSync(resumed)).to.deep.equal(readFileSync(straight));
    expect(existsSync(journal)).to.equal(false);
  });
});
