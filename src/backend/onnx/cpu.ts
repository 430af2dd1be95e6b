/**
 * What ONNX Runtime needs to know about the CPU: how many cores to run on and, for int8
 * inference, how products accumulate. Its uint8 × int8 kernels on x86 CPUs without VNNI
 * (SSE4.1, AVX2, AVX-512 without VNNI) add pairs of products in 16 bits, which saturates when
 * both are large (2 × 255 × 127 > 32767). VNNI and AMX accumulate in 32 bits; ARM kernels
 * widen first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** /proc/cpuinfo flags of the x86 extensions that accumulate uint8 × int8 in 32 bits. */
const WIDE_ACCUMULATION_FLAGS = ['avx512_vnni', 'avx_vnni', 'amx_int8'];

/** True when the cpuinfo text lists a flag of an extension that cannot saturate. */
export function hasWideInt8Accumulation(cpuinfo: string): boolean {
  const flags = new Set(cpuinfo.split('\n').find((line) => line.startsWith('flags'))?.split(/\s+/) ?? []);
  return WIDE_ACCUMULATION_FLAGS.some((flag) => flags.has(flag));
}

let saturates: boolean | undefined;

/**
 * Whether ONNX Runtime's uint8 × int8 products can saturate on this CPU: x86 without VNNI or
 * AMX. Read from /proc/cpuinfo on Linux; elsewhere an x86 CPU is assumed to lack VNNI.
 */
export function u8s8CanSaturate(): boolean {
  if (saturates !== undefined) return saturates;
  if (process.arch !== 'x64' && process.arch !== 'ia32') return (saturates = false);
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux: no portable way to ask, so take the safe answer.
  }
  return (saturates = !hasWideInt8Accumulation(cpuinfo));
}

/**
 * Weight bits that cannot saturate here: 8 where products accumulate in 32 bits, else 7
 * (weights in ±64: 2 × 255 × 64 fits in 16 bits), which keeps the fast kernels.
 */
export function safeWeightBits(): 7 | 8 {
  return u8s8CanSaturate() ? 7 : 8;
}

/**
 * Physical cores from the `package:core` topology of each logical CPU (SMT siblings share
 * one), at most the `logical` CPUs the process may use; `logical` without a topology.
 */
export function coreCount(topology: readonly string[], logical: number): number {
  return topology.length > 0 ? Math.min(new Set(topology).size, logical) : logical;
}

let cores: number | undefined;

/**
 * Physical cores this process can use, from the online CPUs' topology in /sys on Linux (see
 * `coreCount`), else `os.availableParallelism()`. ONNX Runtime's own default counted one core
 * on the two-core VMs we measure on (one of two CPUs busy, the network at half speed), so
 * sessions are given this count instead.
 */
export function physicalCores(): number {
  if (cores !== undefined) return cores;
  const root = '/sys/devices/system/cpu';
  const topology: string[] = [];
  try {
    for (const cpu of readdirSync(root).filter((name) => /^cpu\d+$/.test(name))) {
      try {
        const read = (file: string): string => readFileSync(`${root}/${cpu}/topology/${file}`, 'utf8').trim();
        topology.push(`${read('physical_package_id')}:${read('core_id')}`);
      } catch {
        // An offline CPU has no topology.
      }
    }
  } catch {
    // Not Linux.
  }
  return (cores = coreCount(topology, availableParallelism()));
}
