// Resident memory of a `wrangler dev` server's workerd processes, from
// /proc (the memory and split benchmarks sample it while a request or job runs).
import { readdirSync, readFileSync } from "node:fs";

/** RSS in bytes of every workerd process in the server's process group. */
export function workerdRss(pgid) {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (Number(fields[2]) !== pgid || !comm.includes("workerd")) continue;
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
