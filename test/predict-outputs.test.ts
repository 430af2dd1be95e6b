/** What `predict` writes for the images users give it, with the bundled tiny model. */
import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { cli, cliFailing } from './helpers/cli.js';
import { runPredict } from '../src/cli/commands/predict.js';
import { ConfigError } from '../src/config/experiment.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../src/paths.js';

const TINY = ['--preset', 'tiny_coco', '--weights', TINY_COCO_CHECKPOINT(), '--input-size', '256'];

interface Line { image_id: number | string; file_name: string; score: number; keypoints: number[] }

describe('predict outputs', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'higher-pose-predict-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The JSON Lines `predict` writes to `out` for `images`. */
  async function predictLines(out: string, ...images: string[]): Promise<Line[]> {
    expect(await cli('predict', ...images, ...TINY, '--max-poses', '1', '--format', 'jsonl', '--out', out)).to.equal(0);
    return readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Line);
  }

  it('keeps the file name as image_id when its digits are past what a JSON number holds exactly', async () => {
    const images = ['000000000139.jpg', '12345678901234567.jpg', '12345678901234568.jpg', '9007199254740991.jpg'].map((name) => join(dir, name));
    for (const image of images) copyFileSync(DEMO_IMAGE(), image);
    const ids = (await predictLines(join(dir, 'ids.jsonl'), ...images)).map((line) => line.image_id);
    // 12345678901234567 would be written as 12345678901234568: two images, one id.
    expect(ids).to.deep.equal([139, '12345678901234567.jpg', '12345678901234568.jpg', Number.MAX_SAFE_INTEGER]);
  });

  it('BAD CALL - a --render folder that cannot be made (a file in the way) is refused before any work, a usage error on the command line and a ConfigError for runPredict\'s callers, leaving nothing behind', async () => {
    const folder = join(dir, 'render-in-the-way');
    mkdirSync(folder);
    const drawn = join(folder, 'drawn');
    writeFileSync(drawn, '');
    for (const render of [drawn, join(drawn, 'below')]) {
      const message = `--render ${render}${render === drawn ? '' : `: ${drawn}`} is a file, where predict needs a folder (for its drawings); give a folder, which is made if missing`;
      const { error } = await cliFailing('predict', DEMO_IMAGE(), ...TINY, '--out', join(folder, 'results.json'), '--render', render);
      expect(error).to.be.instanceOf(CommanderError).with.property('exitCode', 2);
      expect((error as Error).message).to.equal(`error: ${message}`);
      const direct = await runPredict([DEMO_IMAGE()], { preset: 'tiny_coco', weights: TINY_COCO_CHECKPOINT(), out: join(folder, 'results.json'), render }).catch((e: unknown) => e);
      expect(direct).to.be.instanceOf(ConfigError).with.property('message', message);
    }
    expect(readdirSync(folder)).to.deep.equal(['drawn']);
  });
});
