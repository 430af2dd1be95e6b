/**
 * The smallest Matroska stream ffmpeg reads raw RGB frames with their own timestamps from: what
 * the overlay encoder writes into ffmpeg's stdin. Raw video over a pipe has no timestamps (ffmpeg
 * numbers the frames at one rate), which made a variable frame rate constant.
 *
 * The segment has an unknown size, so the stream is written front to back; each frame is a
 * cluster of its own (its timestamp) holding one block group (the frame, and its duration,
 * which ffmpeg gives the last frame).
 */

/**
 * Timestamps count 20 µs ticks (Matroska's TimestampScale is in nanoseconds): ffmpeg keeps them as
 * the encoder's time base, and MPEG-4 part 2 takes at most 65535 ticks a second.
 */
export const MATROSKA_TICKS_PER_SECOND = 50_000;

const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const INFO = 0x1549a966;
const TIMESTAMP_SCALE = 0x2ad7b1;
const MUXING_APP = 0x4d80;
const WRITING_APP = 0x5741;
const TRACKS = 0x1654ae6b;
const TRACK_ENTRY = 0xae;
const TRACK_NUMBER = 0xd7;
const TRACK_UID = 0x73c5;
const TRACK_TYPE = 0x83;
const DEFAULT_DURATION = 0x23e383;
const CODEC_ID = 0x86;
const VIDEO = 0xe0;
const PIXEL_WIDTH = 0xb0;
const PIXEL_HEIGHT = 0xba;
const COLOUR_SPACE = 0x2eb524;
const CLUSTER = 0x1f43b675;
const CLUSTER_TIMESTAMP = 0xe7;
const BLOCK_GROUP = 0xa0;
const BLOCK = 0xa1;
const BLOCK_DURATION = 0x9b;

/** Big-endian bytes of a non-negative integer, as few as it takes (an ID keeps its marker bits). */
function uintBytes(value: number): number[] {
  const bytes: number[] = [];
  let rest = BigInt(value);
  do {
    bytes.unshift(Number(rest & 0xffn));
    rest >>= 8n;
  } while (rest > 0n);
  return bytes;
}

/** An element size, always in 8 bytes: sizes of several megabytes (a frame) need no special case. */
function sizeBytes(size: number): number[] {
  const bytes = uintBytes(size);
  return [0x01, ...Array<number>(7 - bytes.length).fill(0), ...bytes];
}

/** The size that says "unknown": the segment of a stream written front to back. */
const UNKNOWN_SIZE = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

const element = (id: number, data: number[]): number[] => [...uintBytes(id), ...sizeBytes(data.length), ...data];
const uint = (id: number, value: number): number[] => element(id, uintBytes(value));
const text = (id: number, value: string): number[] => element(id, [...Buffer.from(value, 'latin1')]);

/**
 * The stream's start: header, segment information and one track of `width`x`height` RGB frames
 * of `frameTicks` each, nominally: ffmpeg 5.1 takes the last frame's duration from that rate (its
 * encoders drop the frames' own durations), which was 20 µs without it.
 */
export function matroskaHeader(width: number, height: number, frameTicks: number): Uint8Array {
  const video = [...uint(PIXEL_WIDTH, width), ...uint(PIXEL_HEIGHT, height), ...element(COLOUR_SPACE, [...Buffer.from('RGB'), 24])];
  const nanoseconds = Math.round((frameTicks * 1e9) / MATROSKA_TICKS_PER_SECOND);
  const track = [
    ...uint(TRACK_NUMBER, 1), ...uint(TRACK_UID, 1), ...uint(TRACK_TYPE, 1), ...uint(DEFAULT_DURATION, nanoseconds),
    ...text(CODEC_ID, 'V_UNCOMPRESSED'), ...element(VIDEO, video),
  ];
  return Uint8Array.from([
    // EBML versions 1, IDs of up to 4 bytes, sizes of up to 8; Matroska version 4, readable as 2.
    ...element(EBML, [...uint(0x4286, 1), ...uint(0x42f7, 1), ...uint(0x42f2, 4), ...uint(0x42f3, 8), ...text(0x4282, 'matroska'), ...uint(0x4287, 4), ...uint(0x4285, 2)]),
    ...uintBytes(SEGMENT), ...UNKNOWN_SIZE,
    ...element(INFO, [...uint(TIMESTAMP_SCALE, 1e9 / MATROSKA_TICKS_PER_SECOND), ...text(MUXING_APP, 'higher-pose'), ...text(WRITING_APP, 'higher-pose')]),
    ...element(TRACKS, element(TRACK_ENTRY, track)),
  ]);
}

/**
 * What comes before the `frameBytes` bytes of a frame shown at `time` for `duration` (both in
 * ticks): its cluster, with the timestamp, and the block group, with the duration, up to the
 * block's own header. The frame's bytes follow as they are, ending the cluster.
 */
export function matroskaFrameHeader(time: number, duration: number, frameBytes: number): Uint8Array {
  // Track 1, timestamp 0 from the cluster's, no flags.
  const block = [...uintBytes(BLOCK), ...sizeBytes(4 + frameBytes), 0x81, 0x00, 0x00, 0x00];
  const group = [...uint(BLOCK_DURATION, duration), ...block];
  const cluster = [...uint(CLUSTER_TIMESTAMP, time), ...uintBytes(BLOCK_GROUP), ...sizeBytes(group.length + frameBytes), ...group];
  return Uint8Array.from([...uintBytes(CLUSTER), ...sizeBytes(cluster.length + frameBytes), ...cluster]);
}
