/**
 * A throwaway single-node Slurm cluster for tests: slurm.conf, a munge key,
 * munged, `slurmctld -D` and `slurmd -D`, all in one temporary directory, on
 * free ports and a private munge socket, so nothing on the machine (a system
 * munged or Slurm, another test run) is touched or in the way.
 *
 * Needs root and the Debian packages `slurm-wlm` and `munge`.
 * {@link slurmUnavailable} says why not before a test starts;
 * {@link startSlurmCluster} returns a reason instead of a cluster when the
 * daemons do not come up. Tests skip with the reason printed, unless
 * `NST_REQUIRE_SLURM=1` (set by `.ci/run`), then they fail.
 *
 * @example
 * ```ts
 * import { startSlurmCluster } from "./slurm_cluster.ts";
 * const c = await startSlurmCluster();
 * if (typeof c !== "string") {
 *   try {
 *     console.log((await c.run("sinfo")).stdout);
 *   } finally {
 *     await c.stop();
 *   }
 * }
 * ```
 * @module
 */
import { join } from "node:path";

const DAEMONS = ["munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo"];

/** True when `NST_REQUIRE_SLURM=1`: a test that cannot get a cluster fails instead of skipping. */
export const REQUIRE_SLURM: boolean = Deno.env.get("NST_REQUIRE_SLURM") === "1";

async function which(cmd: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    if (!dir) continue;
    try {
      const p = join(dir, cmd);
      if ((await Deno.stat(p)).isFile) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Why no cluster can be started here (not root, a program missing), or null when it can be tried. */
export async function slurmUnavailable(): Promise<string | null> {
  if (Deno.uid() !== 0) return "not root (slurmd runs jobs as root here)";
  const missing: string[] = [];
  for (const d of DAEMONS) if (!(await which(d))) missing.push(d);
  if (missing.length) {
    return `${missing.join(", ")} not found (apt-get install slurm-wlm munge)`;
  }
  return null;
}

/** Output of one command. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running cluster. */
export interface SlurmCluster {
  /** The temporary directory that holds everything. */
  dir: string;
  /** The node's name (this host's name). */
  node: string;
  /** Environment for Slurm client commands (`SLURM_CONF`). */
  env: Record<string, string>;
  /** Runs a command with {@link SlurmCluster.env} added to this process's environment. */
  run(cmd: string, args?: string[], opts?: { cwd?: string; env?: Record<string, string> }): Promise<
    Run
  >;
  /** The daemons' logs, for a failure message. */
  logs(): Promise<string>;
  /** Cancels every job, stops the daemons (TERM, then KILL), removes the directory. */
  stop(): Promise<void>;
}

/** `n` distinct ports free now (all held open until picked, so they differ). */
function freePorts(n: number): number[] {
  const ls = [...Array(n)].map(() => Deno.listen({ hostname: "0.0.0.0", port: 0 }));
  const ports = ls.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of ls) l.close();
  return ports;
}

async function memoryMb(): Promise<number> {
  const m = (await Deno.readTextFile("/proc/meminfo")).match(/^MemTotal:\s+(\d+) kB/m);
  // slurmd drains a node whose configured memory exceeds what it measures: stay below it.
  return m ? Math.floor((Number(m[1]) / 1024) * 0.9) : 1024;
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await Deno.readTextFile(file)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(none)";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a cluster of one node with `cpus` CPUs (default: this machine's count) and one partition,
 * `debug`. Returns the cluster once `sinfo` shows the node idle, or a reason string (with the
 * daemons' log tails) when it does not within `timeoutMs`; everything started is stopped then.
 */
export async function startSlurmCluster(
  { cpus = navigator.hardwareConcurrency, timeoutMs = 60_000 } = {},
): Promise<SlurmCluster | string> {
  const why = await slurmUnavailable();
  if (why) return why;
  const dir = await Deno.makeTempDir({ prefix: "nst-slurm-" });
  await Deno.chmod(dir, 0o700); // munged refuses group/world-writable directories
  const node = Deno.hostname();
  const conf = join(dir, "slurm.conf");
  const sock = join(dir, "munge.socket");
  const key = join(dir, "munge.key");
  const [ctldPort, dPort] = freePorts(2);
  for (const d of ["state", "spool", "log"]) await Deno.mkdir(join(dir, d));
  await Deno.writeTextFile(
    conf,
    [
      `ClusterName=nsttest`,
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      `SlurmUser=root`,
      `SlurmdUser=root`,
      `AuthType=auth/munge`,
      `CredType=cred/munge`,
      `AuthInfo=socket=${sock}`,
      `MpiDefault=none`,
      `ProctrackType=proctrack/linuxproc`,
      `TaskPlugin=task/none`,
      `JobAcctGatherType=jobacct_gather/none`,
      `AccountingStorageType=accounting_storage/none`,
      `SelectType=select/cons_tres`,
      `SelectTypeParameters=CR_Core`,
      `SchedulerType=sched/backfill`,
      `ReturnToService=2`,
      // A job whose afterok dependency can no longer be met is cancelled, not left pending.
      `DependencyParameters=kill_invalid_depend`,
      `MinJobAge=600`,
      `MailProg=/bin/true`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${await memoryMb()} State=UNKNOWN`,
      `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      "",
    ].join("\n"),
  );
  const env = { SLURM_CONF: conf };
  const children: Deno.ChildProcess[] = [];
  const spawn = (cmd: string, args: string[], log: string) => {
    const child = new Deno.Command(cmd, {
      args,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Keep the daemon's stderr in a file (read by logs()); the pipe must be drained anyway.
    child.stderr.pipeTo(
      Deno.openSync(join(dir, "log", log), { write: true, create: true }).writable,
    )
      .catch(() => {});
    children.push(child);
    return child;
  };
  const run = async (
    cmd: string,
    args: string[] = [],
    opts: { cwd?: string; env?: Record<string, string> } = {},
  ): Promise<Run> => {
    const out = await new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: { ...env, ...opts.env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const logs = async () =>
    (await Promise.all(
      ["munged.log", "munged.err", "slurmctld.log", "slurmctld.err", "slurmd.log", "slurmd.err"]
        .map(async (f) => `--- ${f}\n${await tail(join(dir, "log", f))}`),
    )).join("\n");
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Jobs first: their slurmstepd processes are not the daemons' children and would outlive them.
    await run("scancel", ["--full", "--partition=debug"]).catch(() => {});
    for (let i = 0; i < 50; i++) {
      const q = await run("squeue", ["-h", "-t", "running,completing"]).catch(() => null);
      if (!q || q.code !== 0 || !q.stdout.trim()) break;
      await sleep(200);
    }
    for (const c of children.toReversed()) {
      try {
        c.kill("SIGTERM");
      } catch {
        // already gone
      }
      const done = await Promise.race([c.status.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        try {
          c.kill("SIGKILL");
        } catch {
          // gone meanwhile
        }
        await c.status;
      }
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const mk = await run("mungekey", ["--create", `--keyfile=${key}`]);
    if (mk.code !== 0) {
      await Deno.writeFile(key, crypto.getRandomValues(new Uint8Array(1024)), { mode: 0o400 });
    }
    await Deno.chmod(key, 0o400);
    const munged = spawn("munged", [
      "--foreground",
      "--force",
      `--socket=${sock}`,
      `--key-file=${key}`,
      `--pid-file=${dir}/munged.pid`,
      `--seed-file=${dir}/munged.seed`,
      `--log-file=${dir}/log/munged.log`,
    ], "munged.err");
    for (let i = 0; i < 50; i++) {
      if (await Deno.stat(sock).then(() => true, () => false)) break;
      await sleep(100);
    }
    spawn("slurmctld", ["-D", "-f", conf], "slurmctld.err");
    spawn("slurmd", ["-D", "-f", conf, "-N", node], "slurmd.err");
    const deadline = Date.now() + timeoutMs;
    let state = "";
    while (Date.now() < deadline) {
      const s = await run("sinfo", ["-h", "-N", "-o", "%N %T"]);
      state = s.stdout.trim() || s.stderr.trim();
      if (s.code === 0 && new RegExp(`^${node} idle$`).test(state)) {
        return { dir, node, env, run, logs, stop };
      }
      const exited = await Promise.race([
        munged.status.then(() => true),
        sleep(0).then(() => false),
      ]);
      if (exited) break;
      await sleep(500);
    }
    const msg = `the node did not become idle (sinfo: ${state})\n${await logs()}`;
    await stop();
    return msg;
  } catch (e) {
    const msg = `starting the cluster failed: ${e}\n${await logs()}`;
    await stop();
    return msg;
  }
}
