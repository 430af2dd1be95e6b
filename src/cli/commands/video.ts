/**
 * `higher-pose video IN`: poses for every (sampled) frame of a video, as JSON lines, and
 * optionally an overlay video; with `--realtime`, for the newest frame each time the estimator is free. IN `-` reads the video from stdin (a pipe from ffmpeg or a
 * camera, say), as a stream (`openVideo`); a network URL (rtsp://, http://, ...), a device (/dev/video0) and an
 * input with `--input-format` (a camera by ffmpeg's name for it, a screen, a lavfi graph) are read as one too.
 *
 * Outputs go to temporary files beside their targets and are renamed only when the whole run
 * succeeded, so an interrupted (Ctrl-C) or failed run never leaves a half-written file under
 * the final name. A live stream's first Ctrl-C (or SIGTERM) is its end: its frames so far make the outputs. Without `--out` the JSON lines go to stdout. The progress bar (stderr, on a
 * terminal only) shows frames/s; per-stage frames/s are printed at the end.
 */
import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { KeypointDefinition } from '../../datasets.js';
import { AtomicFileWriter, FileWriteError, sameFile } from '../../io/atomic.js';
import type { EstimatorOptions } from '../../estimator.js';
import { addPoseOptions, addSelectionOptions, checkModelOptions, estimatorOptions, withConfigRead, type PoseCliOptions } from '../estimator-options.js';
import { fileOrStdout, parseNonNegativeNumber, parsePositiveInteger, parsePositiveNumber, refuseFileAboveOutput, refuseWritingOverWeights, requireWeights, stdinAsDash, usageError, usageMistake } from '../options.js';
import type { Person, PoseEstimator } from '../../types.js';
import { assertReadableFile, isLiveInput, VideoError } from '../../video/decode.js';
import { checkOutputPath, checkVideoOutputPath, containerProblem, videoCodec } from '../../video/encode.js';
import { processVideo, type FrameResult, type VideoTimings } from '../../video/process.js';
import { inputFormatProblem, inputOptionNameProblem, readBySource, sourceOptionsProblem } from '../../video/source-input.js';
import { LineSink } from '../line-sink.js';
import { readWeightsArgument } from '../weights-input.js';
import { StageTotals } from '../stage-times.js';
import { Interrupted, stoppedAtOnceOnSignal } from '../interrupted.js';

/** A failed write of an output file, as the command's other failures: a VideoError (same message, the original as `cause`). */
function asVideoError(error: unknown): never {
  throw error instanceof FileWriteError ? new VideoError(error.message, error.path, { cause: error }) : error;
}

export interface VideoCommandDeps {
  createEstimator: (options: EstimatorOptions) => Promise<PoseEstimator & { keypoints: KeypointDefinition }>;
  /** Where the closing summary goes; default stderr. */
  log?: (line: string) => void;
  /** The video of input `-`; default process.stdin. */
  stdin?: Readable;
  /** Where the JSON lines go without `--out`; default process.stdout. */
  stdout?: Writable;
  /** Where the progress bar goes, drawn on a terminal only; default process.stderr. */
  progress?: Writable & { isTTY?: boolean };
}

interface VideoCliOptions extends PoseCliOptions {
  out?: string;
  render?: string;
  track?: boolean;
  smooth?: boolean;
  every?: number;
  fps?: number;
  start?: number;
  duration?: number;
  maxFrames?: number;
  stallTimeout?: number;
  realtime?: boolean;
  inputFormat?: string;
  inputOption?: Record<string, string>;
}

/** `--input-format`'s parser: an ffmpeg input format name (v4l2, lavfi). */
function parseInputFormat(value: string): string {
  const problem = inputFormatProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

/** `--input-option`'s parser (repeatable): `name=value`, split at the first `=`, added to those before in order. */
function parseInputOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at < 0) throw new InvalidArgumentError(`expected name=value, an ffmpeg input option without its dash and its value (rtsp_transport=tcp), got ${value}`);
  const name = value.slice(0, at);
  const problem = inputOptionNameProblem(name);
  if (problem) throw new InvalidArgumentError(problem);
  return { ...previous, [name]: value.slice(at + 1) };
}

export function registerVideo(program: Command, deps: VideoCommandDeps): Command {
  return addSelectionOptions(addPoseOptions(program.command('video'), 'video frames'))
    .description('estimate poses in every frame of a video (JSON lines), optionally render an overlay video')
    .argument('<input>', "video file, a URL (rtsp://, http://, ...), a device (/dev/video0), ffmpeg's name of an input with --input-format, or '-' for a stream on stdin (MPEG-TS, Matroska/WebM, ...)")
    .option('--out <file>', "JSON lines, one per frame ('-': stdout, the default)")
    .option('--render <file>', 'write an overlay video, each frame at its source time (.mp4, .mov, .mkv or .webm)')
    .option('--track', 'give people stable ids across frames')
    .option('--smooth', 'smooth keypoints over time (implies --track)')
    .option('--every <n>', 'process every Nth frame', parsePositiveInteger)
    .option('--fps <f>', 'keep at most F frames a second (the first frame of each 1/F s)', parsePositiveNumber)
    .option('--start <s>', 'seconds to skip', parseNonNegativeNumber)
    .option('--duration <d>', 'seconds to process', parsePositiveNumber)
    .option('--max-frames <n>', 'stop after N frames', parsePositiveInteger)
    .option('--stall-timeout <s>', 'seconds a URL or device input may send nothing (connecting included) before it has stalled (default 30)', parsePositiveNumber)
    .option('--input-format <name>', "ffmpeg input format (its -f: v4l2, avfoundation, dshow, x11grab, lavfi, ...): the input is then ffmpeg's name for a camera, screen or graph (0, :0.0), read live", parseInputFormat)
    .option('--input-option <name=value>', 'an ffmpeg input option for a URL, a device or an --input-format input, without its dash (rtsp_transport=tcp, video_size=1280x720; repeatable)', parseInputOption)
    .option('--realtime', 'keep up with a live stream: estimate the newest frame each time, skipping those that came meanwhile (a file plays at its own rate)')
    .action(async (argument: string, parsed: VideoCliOptions, command: Command) => {
      const input = stdinAsDash(argument);
      const opts = { ...parsed, out: fileOrStdout(parsed.out) };
      refuseOutputNames(command, opts);
      const sourceProblem = sourceOptionsProblem(input === '-' ? undefined : input, { inputFormat: opts.inputFormat, inputOptions: opts.inputOption }, { format: '--input-format', option: '--input-option' });
      if (sourceProblem) usageError(command, sourceProblem);
      requireWeights(command, opts, { inputs: [argument] });
      await refuseFileAboveOutput(opts.out, '--out', 'video needs a folder (for the JSON lines)', usageMistake(command));
      await refuseFileAboveOutput(opts.render, '--render', 'video needs a folder (for the overlay video)', usageMistake(command));
      await refuseWritingOverWeights(opts.out, '--out', opts.weights);
      await refuseWritingOverWeights(opts.render, '--render', opts.weights);
      const weights = await readWeightsArgument(opts.weights);
      const config = checkModelOptions(command, opts, { weights });
      await runVideo(input, opts, { ...withConfigRead(opts, config), weights }, deps);
    });
}

/** `readOnce`: what the command line's files gave, read once (the configuration, piped weights), for the estimator. */
async function runVideo(input: string, opts: VideoCliOptions, readOnce: Partial<EstimatorOptions>, deps: VideoCommandDeps): Promise<void> {
  const log = deps.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stdin = deps.stdin ?? process.stdin;
  if (input === '-' && 'isTTY' in stdin && stdin.isTTY) throw new VideoError("video -: stdin is a terminal; pipe a video into it (ffmpeg ... -f mpegts - | higher-pose video - ...)");
  // Read as a stream, as stdin is: no file to check.
  const sourced = input !== '-' && readBySource(input, opts);
  // A misspelt video name is told now, not once the model has loaded.
  if (input !== '-' && !sourced) await assertReadableFile(input);
  await refuseBadOutputs(input === '-' || sourced ? undefined : input, { '--out': opts.out, '--render': opts.render });
  const stages = new StageTotals();
  let done = 0;
  // What an interrupted run leaves: the outputs are written only when complete.
  const outputs = [opts.out, opts.render].filter((path) => path !== undefined);
  const written = (): string => (outputs.length > 0 ? `${outputs.join(' and ')} written` : 'their JSON lines are on stdout');
  const left = (): string => [`stopped after ${done} frame${done === 1 ? '' : 's'}`, ...(outputs.length > 0 ? [`${outputs.join(' and ')} not written`] : [])].join('; ');
  // Nothing is written as the model loads: a signal then ends the run at once, saying so.
  const stopWatchingLoad = stoppedAtOnceOnSignal(left);
  let estimator: PoseEstimator & { keypoints: KeypointDefinition };
  try {
    estimator = await deps.createEstimator({ ...(await estimatorOptions(opts, readOnce)), onStageTimes: stages.add });
  } finally {
    stopWatchingLoad();
  }
  const interrupt = new AbortController();
  // A live stream (stdin that is no regular file, a URL, a device) has no end of its own: the first signal, Ctrl-C or a service
  // manager's or `timeout`'s SIGTERM, ends it there, and its poses are written; a second one interrupts the run as for a file.
  // Every URL is taken so, a finished file's (http://host/clip.mp4) too, which is known only once its source has opened it:
  // a signal has the same effect on any URL, and a long remote video's poses so far are kept.
  const live = isLiveInput(input === '-' ? stdin : input, opts);
  const end = new AbortController();
  let endedBy: NodeJS.Signals = 'SIGINT';
  // Ends the process by the signal once the outputs are cleaned up (`main`), so that a loop over videos stops too.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (live && !end.signal.aborted && !interrupt.signal.aborted) {
      endedBy = signal;
      end.abort();
      // Said at once: the frames being estimated, and the overlay's encoding, take a while.
      const again = signal === 'SIGINT' ? 'Ctrl-C again to stop now' : 'a second signal stops it now';
      log(`${process.stderr.isTTY ? '\n' : ''}higher-pose: the stream ends here${signal === 'SIGINT' ? '' : ` (${signal})`}; finishing the frames being estimated and writing the poses (${again})`);
      return;
    }
    interrupt.abort(new Interrupted(signal, left()));
  };
  // Not `once`: a second Ctrl-C ended the process before the first one's cleanup, leaving the
  // outputs' temporary files. Until they are removed a signal stops nothing more; then (during
  // the estimator's dispose, which waits for the frames in flight) it ends the process.
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let estimatedOnly = false;
  const bar = new cliProgress.SingleBar(
    { format: 'video {bar} {value}/{total} frames | {rate} frames/s', stream: deps.progress ?? process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let out: JsonLinesFile | undefined;
  let sink: LineSink | JsonLinesFile | undefined;
  let rendered = false;
  try {
    out = opts.out !== undefined ? await JsonLinesFile.create(opts.out) : undefined;
    sink = out ?? new LineSink(deps.stdout ?? process.stdout, interrupt.signal);
    const started = performance.now();
    const run = processVideo(estimator, input === '-' ? stdin : input, {
      keypoints: estimator.keypoints,
      track: opts.track,
      smooth: opts.smooth,
      render: opts.render,
      every: opts.every,
      fps: opts.fps,
      start: opts.start,
      duration: opts.duration,
      maxFrames: opts.maxFrames,
      stallTimeout: opts.stallTimeout,
      inputFormat: opts.inputFormat,
      inputOptions: opts.inputOption,
      realtime: opts.realtime,
      signal: interrupt.signal,
      endSignal: end.signal,
      // A live stream cut at its end, or a URL's source that stalled or failed: its frames are kept, and the user told.
      onWarning: (message) => log(`warning: ${message}`),
      onStart: ({ expectedFrames }) => {
        // With --realtime, --max-frames counts the frames estimated, not the range's: when it ends the
        // run before the range does (a live stream's has no end), the bar counts those.
        const limit = opts.realtime ? opts.maxFrames : undefined;
        estimatedOnly = limit !== undefined && limit < (expectedFrames ?? Infinity);
        bar.start(estimatedOnly ? limit! : expectedFrames ?? 0, 0, { rate: '0.0' });
      },
    });
    for await (const result of run) {
      await sink.write(`${JSON.stringify(frameJson(result))}\n`);
      done++;
      // Through the video: with --realtime, the frames skipped count too.
      bar.update(estimatedOnly ? done : done + run.timings().skipped, { rate: (done / ((performance.now() - started) / 1000)).toFixed(1) });
    }
    rendered = opts.render !== undefined;
    // A signal as the overlay was moved into place, or while the JSON lines are synced, still stops
    // the run (the catch removes the overlay); once they are renamed too, the run is complete.
    await out?.commit(interrupt.signal);
    bar.stop();
    log(summary(run.timings(), stages, opts.realtime === true));
    if (interrupt.signal.aborted) log(`interrupted by ${(interrupt.signal.reason as Interrupted).signal} after the outputs were written: the run is complete`);
    else if (end.signal.aborted) log(`the stream was ended by ${endedBy} after ${done} frame${done === 1 ? '' : 's'}; ${written()}`);
    else if (run.sourceStopped()) log(`the stream ended after ${done} frame${done === 1 ? '' : 's'} (${input}: ${run.sourceStopped()}); ${written()}`);
  } catch (err) {
    bar.stop();
    await out?.discard();
    // The overlay was moved into place with the last frame: without its JSON lines the run is not complete.
    if (rendered) await rm(opts.render!, { force: true });
    // Ctrl-C in a terminal reaches the ffmpeg processes too, and their failure can come first.
    if (interrupt.signal.aborted) throw interrupt.signal.reason;
    // Ended before its first frame was estimated: nothing to write, as when interrupted.
    if (end.signal.aborted && done === 0) throw new Interrupted(endedBy, left());
    // The reader of stdout has what it wanted (`| head`): a stop, not a failure, unless an overlay was asked for.
    if (sink instanceof LineSink && err === sink.error && (err as NodeJS.ErrnoException).code === 'EPIPE') {
      const stopped = `stopped after ${done} frame${done === 1 ? '' : 's'}: the reader of stdout closed it`;
      if (opts.render === undefined) {
        log(stopped);
        return;
      }
      throw new VideoError(`${stopped}, so ${opts.render} was not written`, input === '-' ? undefined : input);
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await estimator.dispose();
  }
}

/**
 * Outputs that would replace the input video file (`file`; undefined for another input), that name
 * a folder, or that lie in a folder that does not exist are refused before any work (the model is not even loaded).
 */
async function refuseBadOutputs(file: string | undefined, outputs: Record<string, string | undefined>): Promise<void> {
  const given = Object.entries(outputs).filter((entry): entry is [string, string] => entry[1] !== undefined);
  for (const [option, path] of given) {
    await (option === '--render' ? checkVideoOutputPath : checkOutputPath)(path, option);
    // A WebM overlay needs ffmpeg's VP9 encoder: known now rather than after the run.
    if (option === '--render') await videoCodec(path);
    if (file !== undefined && (await sameFile(path, file))) throw new VideoError(`${path}: ${option} names the input video; give another file name`, file);
  }
}

/** Output names that cannot work whatever is on disk (a container not written, one file for both): usage errors. */
function refuseOutputNames(command: Command, { out, render }: Pick<VideoCliOptions, 'out' | 'render'>): void {
  // An empty name is refused as no file path, with the other outputs' checks.
  const problem = render ? containerProblem(render) : undefined;
  if (problem) usageError(command, `--render ${problem}`);
  if (out && render && resolve(out) === resolve(render)) usageError(command, `${render}: --out and --render name the same file; give them different names`);
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** The JSON line of one frame: coordinates to 0.01 px, scores to 4 decimals. */
function frameJson(result: Pick<FrameResult, 'frame' | 'time' | 'people'>): object {
  return {
    frame: result.frame,
    time: result.time,
    people: result.people.map((p: Person) => ({
      ...(p.id !== undefined ? { id: p.id } : {}),
      score: round(p.score, 4),
      keypoints: p.keypoints.map((k) => ({ name: k.name, x: round(k.x, 2), y: round(k.y, 2), score: round(k.score, 4) })),
      box: {
        xMin: round(p.box.xMin, 2), yMin: round(p.box.yMin, 2), xMax: round(p.box.xMax, 2), yMax: round(p.box.yMax, 2),
        width: round(p.box.width, 2), height: round(p.box.height, 2),
      },
    })),
  };
}

function summary(t: VideoTimings, estimator: StageTotals, realtime: boolean): string {
  const fps = (v: number): string => v.toFixed(1);
  // Inference split into its network and post-processing, where the estimator reports them.
  const parts = estimator.images > 0 ? ` (network ${fps(1000 / estimator.mean('network'))}, post-processing ${fps(1000 / estimator.mean('postprocess'))})` : '';
  const stages = [`decode ${fps(t.decode.fps)}`, `infer ${fps(t.infer.fps)}${parts}`];
  if (t.track) stages.push(`track ${fps(t.track.fps)}`);
  if (t.encode) stages.push(`encode ${fps(t.encode.fps)}`);
  const frames = realtime ? `${t.frames} frames estimated, ${t.skipped} skipped to keep up,` : `${t.frames} frames`;
  return `${frames} in ${t.wallSeconds.toFixed(1)} s (${fps(t.fps)} frames/s); stages in frames/s: ${stages.join(', ')}`;
}

/**
 * The JSON lines file: an AtomicFileWriter (temporary name, fsync, rename on `commit`), its
 * failures (FileWriteErrors naming the file and the step) as VideoErrors.
 */
class JsonLinesFile {
  private constructor(private readonly writer: AtomicFileWriter) {}

  static async create(path: string): Promise<JsonLinesFile> {
    await checkOutputPath(path);
    return new JsonLinesFile(await AtomicFileWriter.open(path).catch(asVideoError));
  }

  async write(text: string): Promise<void> {
    await this.writer.write(text).catch(asVideoError);
  }

  /** Aborted before the rename, the file is discarded and the signal's reason thrown. */
  async commit(signal?: AbortSignal): Promise<void> {
    await this.writer.commit(signal).catch(asVideoError);
  }

  discard(): Promise<void> {
    return this.writer.discard();
  }
}
