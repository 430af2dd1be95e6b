/** Telling an image file by its first bytes, for messages: without sharp, so that a checkpoint's reader can name one too. */

/** Leading bytes that name an image format, whatever follows them. */
const SIGNATURES: [format: string, offset: number, bytes: string][] = [
  ['JPEG', 0, '\xff\xd8\xff'], ['PNG', 0, '\x89PNG\r\n\x1a\n'], ['GIF', 0, 'GIF8'], ['WebP', 8, 'WEBP'],
  ['TIFF', 0, 'II*\0'], ['TIFF', 0, 'MM\0*'],
];

/** The image format whose signature `bytes` begin with, or undefined. */
export function formatBySignature(bytes: Uint8Array): string | undefined {
  const matches = (offset: number, signature: string) => [...signature].every((ch, i) => bytes[offset + i] === ch.charCodeAt(0));
  return SIGNATURES.find(([, offset, signature]) => matches(offset, signature))?.[0];
}
