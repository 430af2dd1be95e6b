/** Telling an image file by its first bytes, for messages: without sharp, so that a checkpoint's reader can name one too. */

/** Leading bytes that name an image format, whatever follows them. */
const SIGNATURES: [format: string, offset: number, bytes: string][] = [
  ['JPEG', 0, '\xff\xd8\xff'], ['PNG', 0, '\x89PNG\r\n\x1a\n'], ['GIF', 0, 'GIF8'], ['WebP', 8, 'WEBP'],
  ['TIFF', 0, 'II*\0'], ['TIFF', 0, 'MM\0*'],
];

const startsWith = (bytes: Uint8Array, offset: number, signature: string): boolean =>
  [...signature].every((ch, i) => bytes[offset + i] === ch.charCodeAt(0));

/** The image format whose signature `bytes` begin with, or undefined. */
export function formatBySignature(bytes: Uint8Array): string | undefined {
  return SIGNATURES.find(([, offset, signature]) => startsWith(bytes, offset, signature))?.[0];
}

/** Leading bytes of the video containers users most often have (those `isVideoName` names). */
const VIDEO_SIGNATURES: [container: string, offset: number, bytes: string][] = [
  ['Matroska/WebM', 0, '\x1a\x45\xdf\xa3'], ['AVI', 8, 'AVI '], ['FLV', 0, 'FLV\x01'], ['MPEG-PS', 0, '\0\0\x01\xba'],
  ['ASF (WMV)', 0, '\x30\x26\xb2\x75\x8e\x66\xcf\x11'], ['Ogg', 0, 'OggS'],
];

/**
 * ISO media brands of still images, which share the MP4 container's `ftyp` box: HEIF (HEIC, AVIF,
 * whose files list `mif1` or `msf1` among their brands whatever the first) and Canon's CR3 raw photos.
 */
const IMAGE_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'mif2', 'msf1', 'crx ']);

/** The brands of an `ftyp` box at the start of `bytes`: its major brand, then those it is compatible with. */
function ftypBrands(bytes: Uint8Array): string[] {
  const boxSize = ((bytes[0]! << 24) >>> 0) + (bytes[1]! << 16) + (bytes[2]! << 8) + bytes[3]!;
  const end = Math.min(boxSize, bytes.length);
  // The minor version (4 bytes) lies between the major brand and the compatible ones.
  const offsets = [8, ...Array.from({ length: Math.max(0, Math.floor((end - 16) / 4)) }, (_, i) => 16 + 4 * i)];
  return offsets.map((at) => String.fromCharCode(...bytes.subarray(at, at + 4)));
}

/** MPEG-TS packets are 188 bytes, each beginning with the sync byte 0x47. */
const TS_PACKET = 188;

/** The video container `bytes` begin with (an MP4, a Matroska file, ...), or undefined. */
export function videoContainerBySignature(bytes: Uint8Array): string | undefined {
  const found = VIDEO_SIGNATURES.find(([, offset, signature]) => startsWith(bytes, offset, signature))?.[0];
  if (found !== undefined) return found;
  if (startsWith(bytes, 4, 'ftyp')) {
    const brands = ftypBrands(bytes);
    return brands.some((brand) => IMAGE_BRANDS.has(brand)) ? undefined : brands[0] === 'qt  ' ? 'QuickTime' : 'MP4';
  }
  // A QuickTime file of old, with no ftyp: its first atom is one of these.
  if (['moov', 'mdat', 'wide'].some((atom) => startsWith(bytes, 4, atom))) return 'QuickTime';
  if (bytes.length >= 3 * TS_PACKET && [0, 1, 2].every((packet) => bytes[packet * TS_PACKET] === 0x47)) return 'MPEG-TS';
  return undefined;
}
