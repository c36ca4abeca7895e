/**
 * Runs the whole platform locally: the admin worker (control plane), the edge worker (data plane)
 * and the telemetry worker in ONE Miniflare instance over one shared D1/KV/Queues state. Admin and
 * edge each get their own port; telemetry is reached only through service bindings, as in
 * production.
 *
 * `wrangler dev` with several configs gives only the first worker a port, so the workers are bundled
 * with wrangler and served through Miniflare's API instead. The persist dir uses wrangler's layout
 * (`<persistDir>/v3/d1`, `<persistDir>/v3/kv`, …) so `wrangler d1 migrations apply --local
 * --persist-to <persistDir>` and `wrangler d1 execute --local` see the same database.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";
import { Log, LogLevel, Miniflare, type WorkerOptions } from "miniflare";
import { unstable_readConfig as readWranglerConfig } from "wrangler";

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const wranglerCli = join(repositoryRoot, "node_modules", "wrangler", "bin", "wrangler.js");
const compatibilityDate = "2026-07-01";

export interface PlatformOptions {
  /** Root of all local state, e.g. `.wrangler/state`. Created if missing. */
  persistDir: string;
  adminPort: number;
  edgePort: number;
  /** Overrides the edge's ISOLATE_CACHE_TTL_MS (0 makes label moves visible on the next read). */
  isolateCacheTtlMs?: number;
  /** How often the admin worker's cron handler runs; Miniflare's API has no cron runner. 0 = never. */
  scheduledIntervalMs?: number;
  /** Forward Miniflare's own warnings and errors to the console. Worker `console.*` always is. */
  verbose?: boolean;
  /** Overrides of the admin worker's [vars], e.g. WEBHOOK_ALLOW_LOOPBACK for local receivers. */
  adminVars?: Record<string, string>;
  adminConfigPath?: string;
  edgeConfigPath?: string;
}

export interface Platform {
  adminUrl: string;
  edgeUrl: string;
  /** The deployment's bootstrap token from `.dev.vars` (it creates a project's first admin key). */
  adminToken: string;
  persistDir: string;
  /** For tests that need to look underneath the HTTP APIs (e.g. at the shared KV). */
  miniflare: Miniflare;
  /** Runs the admin worker's cron handler now, as Cloudflare would every minute. */
  runScheduled(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const persistDir = resolve(options.persistDir);
  const configPaths: Record<PlatformWorker, string> = {
    admin: resolve(options.adminConfigPath ?? join(repositoryRoot, "wrangler.toml")),
    edge: resolve(
      options.edgeConfigPath ?? join(repositoryRoot, "workers", "edge", "wrangler.toml"),
    ),
    telemetry: join(repositoryRoot, "workers", "telemetry", "wrangler.toml"),
  };
  await mkdir(persistDir, { recursive: true });

  const configs = mapWorkers((worker) => readWorkerConfig(configPaths[worker]));
  const [bundleDirs] = await Promise.all([
    preparedBundles(configPaths),
    preparedState(persistDir, configs, configPaths),
  ]);

  const adminSecrets = readDevVars(join(dirname(configPaths.admin), ".dev.vars"));
  const adminToken = adminSecrets.ADMIN_BOOTSTRAP_TOKEN;
  if (!adminToken) {
    throw new Error(
      `ADMIN_BOOTSTRAP_TOKEN is missing from ${dirname(configPaths.admin)}/.dev.vars`,
    );
  }

  const host = "127.0.0.1";
  const adminUrl = `http://${host}:${options.adminPort}`;
  const edgeUrl = `http://${host}:${options.edgePort}`;
  const edgeVars: Record<string, string> = {};
  if (options.isolateCacheTtlMs !== undefined) {
    edgeVars.ISOLATE_CACHE_TTL_MS = String(options.isolateCacheTtlMs);
  }
  // Workers reach each other by their wrangler names, as service bindings do on Cloudflare.
  const workerOfService = new Map(
    PLATFORM_WORKERS.map((worker) => [configs[worker].name, worker] as const),
  );
  const workerOptions = (
    worker: PlatformWorker,
    port: number | undefined,
    vars: Record<string, string>,
  ): WorkerOptions =>
    miniflareWorker(worker, configs[worker], bundleDirs[worker], workerOfService, port, vars);

  const stateRoot = join(persistDir, "v3");
  const miniflare = new Miniflare({
    host,
    // Miniflare's own entry socket is unused (each worker has a direct socket); port 0 keeps it
    // from taking 8787, which is the admin worker's port in dev.
    port: 0,
    log: new Log(options.verbose ? LogLevel.WARN : LogLevel.ERROR),
    defaultPersistRoot: stateRoot,
    d1Persist: join(stateRoot, "d1"),
    kvPersist: join(stateRoot, "kv"),
    cachePersist: join(stateRoot, "cache"),
    durableObjectsPersist: join(stateRoot, "do"),
    workers: [
      // The URLs follow the ports actually used, so links the admin shows point at this platform.
      workerOptions("admin", options.adminPort, {
        ...adminSecrets,
        EDGE_URL: edgeUrl,
        ADMIN_URL: adminUrl,
        ...options.adminVars,
      }),
      workerOptions("edge", options.edgePort, edgeVars),
      // Telemetry has no port of its own: apps reach it through the edge, the admin by binding.
      workerOptions("telemetry", undefined, {}),
    ],
  });
  await miniflare.ready;

  const runScheduled = async () => {
    for (const worker of PLATFORM_WORKERS) {
      const cron = configs[worker].triggers.crons?.[0];
      if (!cron) continue;
      const target = (await miniflare.getWorker(worker)) as unknown as ScheduledTarget;
      await target.scheduled({ cron, scheduledTime: new Date() });
    }
  };
  const scheduledIntervalMs = options.scheduledIntervalMs ?? 60_000;
  const scheduledTimer =
    scheduledIntervalMs > 0
      ? setInterval(() => {
          runScheduled().catch((error: unknown) => {
            // A failing cron run must not take the dev server down; the next run retries.
            console.error("[cuecard] scheduled handler failed:", error);
          });
        }, scheduledIntervalMs)
      : undefined;
  scheduledTimer?.unref();

  return {
    adminUrl,
    edgeUrl,
    adminToken,
    persistDir,
    miniflare,
    runScheduled,
    async dispose() {
      clearInterval(scheduledTimer);
      await miniflare.dispose();
    },
  };
}

/**
 * Bundles and migrated databases are made once per content and reused: every test file starts its
 * own platform, and bundling three workers and applying two databases' migrations with wrangler
 * took most of each start. Each is addressed by a hash of what it is made from, so a changed
 * source, config, migration or installed package makes a new one; they are made in a temporary
 * folder and renamed into place, so processes starting platforms at once never see half of one.
 */
const preparedRoot = join(repositoryRoot, "dist", "platform-prepared");

/** What a bundle is built from: the config, the workers' and UI's sources, the installed packages. */
async function bundleInputsHash(configPath: string): Promise<string> {
  const hash = createHash("sha256");
  hash.update(readFileSync(configPath));
  const lock = join(repositoryRoot, "node_modules", ".package-lock.json");
  if (existsSync(lock)) hash.update(readFileSync(lock));
  for (const folder of ["workers", "admin"]) {
    const entries = await readdir(join(repositoryRoot, folder), {
      recursive: true,
      withFileTypes: true,
    });
    const files = entries
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .sort();
    for (const file of files) {
      const stats = statSync(file);
      hash.update(`${file}\0${stats.size}\0${stats.mtimeMs}\0`);
    }
  }
  return hash.digest("hex").slice(0, 16);
}

/** `dir` made by `make(tmp)` unless it exists already; concurrent makers race, one rename wins. */
async function prepared(dir: string, make: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(dir)) return dir;
  await mkdir(preparedRoot, { recursive: true });
  const tmp = await mkdtemp(join(preparedRoot, "tmp-"));
  try {
    await make(tmp);
    await rename(tmp, dir).catch((error: NodeJS.ErrnoException) => {
      // Another process made the same one first: its copy is as good as this one.
      if (!existsSync(dir)) throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

async function preparedBundles(
  configPaths: Record<PlatformWorker, string>,
): Promise<Record<PlatformWorker, string>> {
  const dirs = await Promise.all(
    PLATFORM_WORKERS.map(async (worker) => {
      const dir = join(preparedRoot, `${worker}-${await bundleInputsHash(configPaths[worker])}`);
      return prepared(dir, (tmp) =>
        runWrangler(["deploy", "--dry-run", "--outdir", tmp, "-c", configPaths[worker]]),
      );
    }),
  );
  return mapWorkers((worker) => dirs[PLATFORM_WORKERS.indexOf(worker)] as string);
}

/**
 * Applies each database's migrations (the admin's and telemetry's stores are separate), one after
 * the other: two local applies at once can find Miniflare's state locked (SQLITE_BUSY). A fresh
 * persist dir gets a copy of databases migrated once; one with state of its own (a dev server's,
 * a restart) is migrated in place.
 */
async function preparedState(
  persistDir: string,
  configs: Record<PlatformWorker, WorkerConfig>,
  configPaths: Record<PlatformWorker, string>,
): Promise<void> {
  const databases = PLATFORM_WORKERS.flatMap((worker) =>
    configs[worker].d1_databases.map((db) => ({ worker, db })),
  );
  const applyMigrations = async (dir: string) => {
    for (const { worker, db } of databases) {
      await runWrangler([
        "d1",
        "migrations",
        "apply",
        db.binding,
        "--local",
        "--persist-to",
        dir,
        "-c",
        configPaths[worker],
      ]);
    }
  };
  if (existsSync(join(persistDir, "v3", "d1"))) return applyMigrations(persistDir);
  const hash = createHash("sha256");
  for (const { worker, db } of databases) {
    hash.update(`${worker}\0${db.binding}\0${db.database_id}\0`);
    const migrations = join(dirname(configPaths[worker]), db.migrations_dir ?? "migrations");
    for (const file of (await readdir(migrations, { recursive: true })).sort()) {
      const path = join(migrations, file);
      if (statSync(path).isFile()) hash.update(`${file}\0`).update(readFileSync(path));
    }
  }
  const template = await prepared(
    join(preparedRoot, `state-${hash.digest("hex").slice(0, 16)}`),
    applyMigrations,
  );
  await cp(join(template, "v3"), join(persistDir, "v3"), { recursive: true });
}

/** The platform's workers, by their Miniflare names. */
export const PLATFORM_WORKERS = ["admin", "edge", "telemetry"] as const;
export type PlatformWorker = (typeof PLATFORM_WORKERS)[number];

function mapWorkers<T>(make: (worker: PlatformWorker) => T): Record<PlatformWorker, T> {
  return Object.fromEntries(PLATFORM_WORKERS.map((worker) => [worker, make(worker)])) as Record<
    PlatformWorker,
    T
  >;
}

/**
 * A bundled worker as Miniflare runs it, with the bindings its wrangler config declares (also
 * used by the benchmark, so it serves the workers exactly as configured).
 */
export function miniflareWorker(
  name: PlatformWorker,
  config: WorkerConfig,
  bundleDir: string,
  workerOfService: Map<string, PlatformWorker>,
  port: number | undefined,
  vars: Record<string, string>,
): WorkerOptions {
  return {
    name,
    modules: true,
    scriptPath: join(bundleDir, "index.js"),
    modulesRoot: bundleDir,
    compatibilityDate,
    compatibilityFlags: config.compatibility_flags,
    modulesRules: bundledModuleRules(config),
    unsafeDirectSockets: port === undefined ? [] : [{ host: "127.0.0.1", port }],
    bindings: { ...stringVars(config.vars), ...vars },
    // As Cloudflare serves them: a request for an asset's path is answered before the worker.
    ...(config.assets
      ? {
          assets: {
            directory: config.assets.directory,
            binding: config.assets.binding,
            routerConfig: { has_user_worker: true },
          },
        }
      : {}),
    d1Databases: Object.fromEntries(
      config.d1_databases.map((db) => [db.binding, requireId(db.database_id, db.binding)]),
    ),
    kvNamespaces: Object.fromEntries(
      config.kv_namespaces.map((kv) => [kv.binding, requireId(kv.id, kv.binding)]),
    ),
    // A binding to a worker not served alongside is left out: every service binding is optional
    // (the worker answers 503 without it), and the benchmarks serve only the workers they measure.
    serviceBindings: Object.fromEntries(
      (config.services ?? []).flatMap((service) => {
        const target = workerOfService.get(service.service);
        return target ? [[service.binding, target]] : [];
      }),
    ),
    queueProducers: Object.fromEntries(
      (config.queues.producers ?? []).map((producer) => [producer.binding, producer.queue]),
    ),
    ratelimits: Object.fromEntries(
      (config.ratelimits ?? []).map((limiter) => [
        limiter.name,
        { namespace_id: limiter.namespace_id, simple: limiter.simple },
      ]),
    ),
    queueConsumers: Object.fromEntries(
      (config.queues.consumers ?? []).map((consumer) => [
        consumer.queue,
        {
          maxBatchSize: consumer.max_batch_size,
          maxBatchTimeout: consumer.max_batch_timeout,
          maxRetries: consumer.max_retries,
          deadLetterQueue: consumer.dead_letter_queue,
        },
      ]),
    ),
  };
}

/**
 * The parts of a wrangler config this file reads. wrangler's own `Config` type lives in a package
 * it bundles without publishing its types, so it reaches TypeScript as `any`.
 */
export interface WorkerConfig {
  name: string;
  vars: Record<string, unknown>;
  compatibility_flags: string[];
  d1_databases: { binding: string; database_id?: string; migrations_dir?: string }[];
  kv_namespaces: { binding: string; id?: string }[];
  services?: { binding: string; service: string }[];
  queues: {
    producers?: { binding: string; queue: string }[];
    consumers?: {
      queue: string;
      max_batch_size?: number;
      max_batch_timeout?: number;
      max_retries?: number;
      dead_letter_queue?: string;
    }[];
  };
  triggers: { crons?: string[] };
  ratelimits?: { name: string; namespace_id: string; simple: { limit: number; period: 10 | 60 } }[];
  rules?: { type: "Text" | "Data" | "CompiledWasm"; globs: string[]; fallthrough?: boolean }[];
  /** Static assets served before the worker (the edge's /docs files); an absolute directory. */
  assets?: { directory: string; binding?: string };
}

/**
 * wrangler's bundle keeps each file a [[rules]] entry matched as a module of its own, named
 * `<sha1>-<file name>`; Miniflare must load those with the rule's type, not as JavaScript.
 */
function bundledModuleRules(config: WorkerConfig): WorkerOptions["modulesRules"] {
  return (config.rules ?? []).map((rule) => ({
    type: rule.type,
    include: [...new Set(rule.globs.map((glob) => `**/*-${basename(glob)}`))],
    fallthrough: rule.fallthrough,
  }));
}

export function readWorkerConfig(configPath: string): WorkerConfig {
  const config: WorkerConfig = readWranglerConfig({ config: configPath }, { hideWarnings: true });
  if (config.assets) {
    config.assets = { directory: resolve(dirname(configPath), config.assets.directory) };
  }
  return config;
}

/**
 * Miniflare types its worker proxies with `@cloudflare/workers-types`, which is not installed
 * here (the workers use generated types); this is the one method called on it.
 */
interface ScheduledTarget {
  scheduled(options: { cron: string; scheduledTime: Date }): Promise<unknown>;
}

/** A port that was free a moment ago, for tests that run next to a dev server. */
export function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new Error("could not determine a free port"));
      });
    });
  });
}

/** Two different free ports, for the admin and the edge worker. */
export async function freePlatformPorts(): Promise<{ adminPort: number; edgePort: number }> {
  const adminPort = await findFreePort();
  let edgePort = await findFreePort();
  while (edgePort === adminPort) edgePort = await findFreePort();
  return { adminPort, edgePort };
}

/** Runs the project's wrangler with the current Node binary; output is shown only on failure. */
export function runWrangler(args: string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    execFile(
      process.execPath,
      [wranglerCli, ...args],
      {
        cwd: repositoryRoot,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
        maxBuffer: 32 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolveRun();
        reject(new Error(`wrangler ${args.join(" ")} failed:\n${stdout}\n${stderr}`.trimEnd()));
      },
    );
  });
}

function readDevVars(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const parsed = parseEnv(readFileSync(path, "utf8"));
  return Object.fromEntries(
    Object.entries(parsed).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** Miniflare text bindings must be strings; wrangler's [vars] may hold numbers or objects. */
function stringVars(vars: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(vars).map(([name, value]) => [
      name,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
}

function requireId(id: string | undefined, binding: string): string {
  if (!id) throw new Error(`binding ${binding} has no id in its wrangler config`);
  return id;
}

/**
 * A throwaway platform for tests: fresh state in a temporary folder, free ports, its own build
 * folder, label moves visible on the next edge read, no cron. `dispose()` also deletes the state.
 */
export async function startEphemeralPlatform(
  name: string,
  options: Partial<Omit<PlatformOptions, "persistDir" | "adminPort" | "edgePort">> = {},
): Promise<Platform> {
  const persistDir = await mkdtemp(join(tmpdir(), `cuecard-${name}-`));
  const platform = await startPlatform({
    persistDir,
    ...(await freePlatformPorts()),
    isolateCacheTtlMs: 0,
    scheduledIntervalMs: 0,
    ...options,
  });
  return {
    ...platform,
    async dispose() {
      await platform.dispose();
      await rm(persistDir, { recursive: true, force: true });
    },
  };
}
