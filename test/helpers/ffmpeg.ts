/** Making test videos with the ffmpeg command line. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const hasFfmpeg = ['ffmpeg', 'ffprobe'].every((bin) => spawnSync(bin, ['-version'], { stdio: 'ignore' }).status === 0);

export function ffmpeg(...args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/**
 * An MPEG-TS at `dir/name` of half a second of 10 fps test pattern per size of `sizes` ('160x120'),
 * put end to end as streams are (a browser's recording, a camera that changed its resolution).
 */
export function sizeChangingStream(dir: string, name: string, sizes: readonly string[]): string {
  const parts = sizes.map((size, i) => {
    const part = join(dir, `part${i}.ts`);
    ffmpeg('-f', 'lavfi', '-i', `testsrc=size=${size}:rate=10`, '-t', '0.5', '-c:v', 'mpeg4', '-output_ts_offset', String(i / 2), '-f', 'mpegts', part);
    return part;
  });
  const list = join(dir, 'parts.txt');
  writeFileSync(list, parts.map((part) => `file '${part}'\n`).join(''));
  const joined = join(dir, name);
  ffmpeg('-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', joined);
  return joined;
}

/** The suite `title` as one skipped test, saying why, where ffmpeg or ffprobe is missing: `if (!hasFfmpeg) skippedWithoutFfmpeg(title); else describe(title, ...)`. */
export function skippedWithoutFfmpeg(title: string): void {
  describe(title, () => {
    console.log(`    ${title} tests skipped: ffmpeg/ffprobe not found on the PATH (apt-get install ffmpeg / brew install ffmpeg)`);
    it('skipped: ffmpeg/ffprobe not installed');
  });
}
