/**
 * This process's peak RSS in kB: Linux's VmHWM, the high-water mark of its own memory map.
 * getrusage's maxRSS (`process.resourceUsage()`) keeps, across the exec that started a process,
 * the peak of the process it was forked from: a child of the bench (~1.5 GB by then) or of the
 * test runner read its parent's size instead of its own. Elsewhere than Linux, getrusage's figure.
 */
import { existsSync, readFileSync } from 'node:fs';

export function peakRssKb(): number {
  const status = existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '';
  const hwm = /^VmHWM:\s*(\d+) kB$/m.exec(status);
  return hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS;
}
