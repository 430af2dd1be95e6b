/**
 * The inputs a source ffmpeg reads (`openUrlSource`) besides URLs: devices (`/dev/video0`) and any
 * input with an ffmpeg input format (`inputFormat`), and the checks of `inputFormat` and
 * `inputOptions`, made before any ffmpeg starts.
 */
import { statSync } from 'node:fs';
import { shownValue } from '../values.js';
import type { DecodeOptions } from './decode.js';
import { isVideoUrl } from './url-source.js';

/** The names of this process's own standard streams, which a source ffmpeg, a process of its own, does not share. */
const OWN_STREAMS = /^\/dev\/(std(in|out|err)$|fd\/)/;

/**
 * Whether `input` is a character device under /dev/ (`/dev/video0`, a camera that ffmpeg's V4L2
 * input knows by its name), read by a source ffmpeg as a URL is; not /dev/stdin and its kin.
 */
export function isDevicePath(input: string): boolean {
  if (!input.startsWith('/dev/') || OWN_STREAMS.test(input)) return false;
  try {
    return statSync(input).isCharacterDevice();
  } catch {
    return false;
  }
}

/** How an ffmpeg of its own (a "source") reads the input: ffmpeg's input format and input options. */
export type SourceInputOptions = Pick<DecodeOptions, 'inputFormat' | 'inputOptions'>;

/** Whether a source ffmpeg reads `input` (`openUrlSource`): a URL, a device (`isDevicePath`), or any input with `inputFormat`. */
export function readBySource(input: string, { inputFormat }: Pick<SourceInputOptions, 'inputFormat'> = {}): boolean {
  return inputFormat !== undefined || isVideoUrl(input) || isDevicePath(input);
}

/** What ffmpeg's option and format names are made of (a leading dash is added here). */
const FFMPEG_NAME = /^[A-Za-z0-9_]+$/;

/** Input options the source ffmpeg sets itself, or that would break what it writes, and why they are not taken. */
const REFUSED_INPUT_OPTIONS = new Map<string, string>([
  ['i', 'the video input is the input'],
  ['f', 'give the input format as inputFormat (--input-format)'],
  ['re', 'it takes no value (readrate=1 reads at the native frame rate)'],
  ...['y', 'n', 'map', 'c', 'codec', 'vcodec', 'vn'].map((name): [string, string] => [name, 'it would change the output of the ffmpeg reading the input']),
  ...['loglevel', 'v', 'hide_banner', 'nostats', 'stats', 'nostdin', 'stdin', 'live', 'allow_raw_vfw'].map((name): [string, string] => [name, 'higher-pose sets it']),
]);

/** The problem with an input option's name (no dash: `rtsp_transport`), or undefined. */
export function inputOptionNameProblem(name: string): string | undefined {
  if (!FFMPEG_NAME.test(name)) return `${shownValue(name)} is not an ffmpeg option name (letters, digits and _, without the leading -)`;
  const why = REFUSED_INPUT_OPTIONS.get(name);
  return why && `-${name} is not taken: ${why}`;
}

/** The problem with an input format's name (`v4l2`, `lavfi`), or undefined. */
export function inputFormatProblem(format: unknown): string | undefined {
  return typeof format === 'string' && FFMPEG_NAME.test(format) ? undefined : `must be an ffmpeg input format name such as v4l2, avfoundation, dshow, x11grab or lavfi, got ${shownValue(format)}`;
}

/**
 * The problem with `inputFormat` and `inputOptions` for `input` (its name; undefined for a
 * stream), in the words of `names` (the API's or the command line's), or undefined: a wrong value,
 * a format for a stream (read as it is), options that nothing would read (a file path, a stream:
 * no source ffmpeg).
 */
export function sourceOptionsProblem(
  input: string | undefined,
  { inputFormat, inputOptions }: SourceInputOptions,
  names = { format: 'inputFormat', option: 'inputOptions' },
): string | undefined {
  if (inputFormat !== undefined) {
    const problem = inputFormatProblem(inputFormat);
    if (problem) return `${names.format} ${problem}`;
    if (input === undefined) return `${names.format} is for an input ffmpeg reads by its name (a device, a lavfi graph); a stream is read as it comes`;
  }
  if (inputOptions === undefined) return undefined;
  if (typeof inputOptions !== 'object' || inputOptions === null || Array.isArray(inputOptions)) {
    return `${names.option} must be an object of ffmpeg input options, name to value ({ rtsp_transport: 'tcp' }), got ${shownValue(inputOptions)}`;
  }
  for (const [name, value] of Object.entries(inputOptions)) {
    const problem = inputOptionNameProblem(name);
    if (problem) return `${names.option}: ${problem}`;
    if (typeof value !== 'string') return `${names.option}: the value of ${name} must be a string, got ${shownValue(value)}`;
  }
  if (Object.keys(inputOptions).length > 0 && !(input !== undefined && readBySource(input, { inputFormat }))) {
    return `${names.option}: ffmpeg's input options are for a URL, a device or an input with ${names.format} (each read by an ffmpeg of its own); ${input === undefined ? "a stream's" : "a file path's"} would be ignored`;
  }
  return undefined;
}
