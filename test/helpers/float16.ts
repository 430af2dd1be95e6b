/**
 * Rounding to float16 (round half to even, as NumPy's astype(float16)): the fixture
 * generator stored network outputs in float16 and ran the reference post-processing on
 * those rounded values, so an end-to-end comparison rounds the same way.
 */
const scratch = new Float32Array(1);
const bits = new Uint32Array(scratch.buffer);

export function roundToFloat16(value: number): number {
  scratch[0] = value;
  const x = bits[0];
  const sign = x >>> 31 ? -1 : 1;
  const exponent = (x >>> 23) & 0xff;
  if (exponent === 0xff) return value; // NaN, Infinity
  const magnitude = Math.abs(scratch[0]);
  // Spacing of float16 values around `magnitude`: 2^-24 for subnormals, else 2^(e-10).
  const e = magnitude === 0 ? -24 : Math.max(Math.floor(Math.log2(magnitude)), -14);
  const step = 2 ** (e - 10);
  const q = magnitude / step;
  const floor = Math.floor(q);
  const diff = q - floor;
  const n = diff > 0.5 || (diff === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  const rounded = n * step;
  return sign * (rounded > 65504 ? Infinity : rounded);
}

export function roundArrayToFloat16(data: Float32Array): Float32Array {
  return data.map(roundToFloat16);
}
