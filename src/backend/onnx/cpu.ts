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

/**
 * The CPUs a cgroup CPU quota allows, rounded up: from cgroup v2's `cpu.max` ("200000 100000",
 * or "max 100000" for none) or cgroup v1's `cpu.cfs_quota_us` and `cpu.cfs_period_us` (-1 for
 * none) joined by a space. Infinity without a quota or when the text is not one of these.
 */
export function quotaCpus(text: string): number {
  const [quota, period] = text.trim().split(/\s+/).map(Number);
  return quota > 0 && period > 0 ? Math.ceil(quota / period) : Infinity;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The CPU quota of this process's cgroup (v2, else v1 at the root of the cpu controller); Infinity without one. */
function cgroupCpuLimit(): number {
  const own = readText('/proc/self/cgroup')?.match(/^0::(\S*)$/m)?.[1] ?? '';
  const v2 = readText(`/sys/fs/cgroup${own === '/' ? '' : own}/cpu.max`) ?? readText('/sys/fs/cgroup/cpu.max');
  if (v2 !== null) return quotaCpus(v2);
  const quota = readText('/sys/fs/cgroup/cpu/cpu.cfs_quota_us');
  const period = readText('/sys/fs/cgroup/cpu/cpu.cfs_period_us');
  return quota !== null && period !== null ? quotaCpus(`${quota} ${period}`) : Infinity;
}

let cores: number | undefined;

/**
 * Physical cores this process can use, from the online CPUs' topology in /sys on Linux (see
 * `coreCount`), else `os.availableParallelism()`, and at most its cgroup's CPU quota (a
 * container limited by quota rather than by CPU set). ONNX Runtime's own default counted one
 * core on the two-core VMs we measure on (one of two CPUs busy, the network at half speed),
 * so sessions are given this count instead.
 */
export function physicalCores(): number {
  if (cores !== undefined) return cores;
  const root = '/sys/devices/system/cpu';
  const topology: string[] = [];
  try {
    for (const cpu of readdirSync(root).filter((name) => /^cpu\d+$/.test(name))) {
      const packageId = readText(`${root}/${cpu}/topology/physical_package_id`);
      const coreId = readText(`${root}/${cpu}/topology/core_id`);
      // An offline CPU has no topology.
      if (packageId !== null && coreId !== null) topology.push(`${packageId.trim()}:${coreId.trim()}`);
    }
  } catch {
    // Not Linux.
  }
  return (cores = Math.max(1, Math.min(coreCount(topology, availableParallelism()), cgroupCpuLimit())));
}
