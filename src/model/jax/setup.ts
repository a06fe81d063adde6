/**
 * The one place that loads the tensor library (@jax-js/jax 0.1.25, pinned) on Node 20.
 *
 * Contract:
 * - `loadJax(opts)` installs the Node 20 polyfills the package needs (a `navigator`,
 *   `Float16Array` as a `Uint16Array` subclass, the iterator helpers `np.einsum` uses),
 *   optionally a `worker_threads` adapter for its Blob-URL Web Workers, then imports the
 *   package and runs `init("wasm")`. It is idempotent; the thread count is fixed by the
 *   first call (the package builds its one wasm backend when it is imported), and a
 *   later call asking for a different count throws a "config" error.
 * - `jaxLib()` returns the loaded module for synchronous code; it throws when
 *   `loadJax` has not finished.
 * Every other module reaches jax-js through here, so swapping the tensor library means
 * replacing src/model/jax/ only.
 */
import { setFlagsFromString } from "node:v8";
import { Worker as NodeWorker } from "node:worker_threads";
import { resolveObjectURL } from "node:buffer";
import { BnformerError } from "../../errors.ts";

/** The @jax-js/jax module namespace, as loaded by `loadJax`. */
export type JaxLib = typeof import("@jax-js/jax");

/** Options of the tensor backend, fixed for the process by the first `loadJax`. */
export interface JaxConfig {
  /** Worker threads for wasm kernels: 1 = none (kernels on this thread), >= 2 = a pool. */
  threads: number;
  /**
   * Let jax-js use Wasm relaxed SIMD (fused multiply-add in matmul kernels) by turning on
   * V8's --experimental-wasm-relaxed-simd (off by default in Node 20). Results stay
   * deterministic on one machine but may differ in the last bits between CPUs with and
   * without FMA.
   */
  relaxedSimd: boolean;
}

/** Measured defaults (docs/fast-executor.md, bench/train-step.ts). */
export const defaultJaxConfig: JaxConfig = { threads: 1, relaxedSimd: true };

let loaded: Promise<JaxLib> | undefined;
let loadedLib: JaxLib | undefined;
let loadedThreads = 0;
let loadedRelaxed = false;

/** Loads and initialises jax-js once; later calls return the same module. */
export function loadJax(opts: Partial<JaxConfig> = {}): Promise<JaxLib> {
  const threads = opts.threads ?? (loaded ? loadedThreads : defaultJaxConfig.threads);
  const relaxed = opts.relaxedSimd ?? (loaded ? loadedRelaxed : defaultJaxConfig.relaxedSimd);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new BnformerError("config", `threads must be an integer in 1..64, got ${threads}`, {
      path: ["jax", "threads"],
    });
  }
  if (loaded) {
    if (threads !== loadedThreads || relaxed !== loadedRelaxed) {
      throw new BnformerError(
        "config",
        `jax-js is already loaded with threads ${loadedThreads}, relaxedSimd ${loadedRelaxed}; ` +
          `cannot switch to ${threads}, ${relaxed} in the same process (its backend is built once)`,
        { path: ["jax"] },
      );
    }
    return loaded;
  }
  loadedThreads = threads;
  loadedRelaxed = relaxed;
  loaded = (async () => {
    installPolyfills(threads);
    // Before the package probes its Wasm features (once, on first kernel compile).
    if (relaxed) setFlagsFromString("--experimental-wasm-relaxed-simd");
    if (threads > 1) installWorkerAdapter();
    const lib = await import("@jax-js/jax");
    await lib.init("wasm");
    lib.defaultDevice("wasm");
    loadedLib = lib;
    return lib;
  })();
  return loaded;
}

/** The loaded module; throws unless `loadJax` has resolved. */
export function jaxLib(): JaxLib {
  if (!loadedLib) {
    throw new BnformerError("config", "jax-js is not loaded: await loadJax() first", {
      path: ["jax"],
    });
  }
  return loadedLib;
}

/** The configuration the library was loaded with (threads 0 before `loadJax`). */
export function jaxConfig(): JaxConfig {
  return { threads: loadedThreads, relaxedSimd: loadedRelaxed };
}

// --- polyfills --------------------------------------------------------------------------

function installPolyfills(threads: number): void {
  const g = globalThis as Record<string, unknown>;
  // The package reads navigator.userAgent (kernel tuning) and hardwareConcurrency (pool size).
  if (g.navigator === undefined) {
    g.navigator = { userAgent: "node", hardwareConcurrency: threads };
  } else {
    Object.defineProperty(g.navigator, "hardwareConcurrency", {
      value: threads,
      configurable: true,
    });
  }
  // Float16 arrays are never used by bnformer, but the package touches the constructor when
  // building any array from data; a subclass of Uint16Array keeps byte sizes right (an empty
  // class corrupted memory, STACK.md).
  if (g.Float16Array === undefined) {
    g.Float16Array = class Float16Array extends Uint16Array {};
  }
  installIteratorHelpers();
}

/** Lazy `map`/`filter` and friends on %IteratorPrototype% (np.einsum calls matchAll().map). */
function installIteratorHelpers(): void {
  const proto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as Record<
    string,
    unknown
  >;
  if (typeof proto.map === "function") return;
  type It = Iterator<unknown> & Iterable<unknown>;
  const helpers: Record<string, (this: It, ...a: never[]) => unknown> = {
    *map(this: It, f: (x: unknown, i: number) => unknown) {
      let i = 0;
      for (const x of this) yield f(x, i++);
    },
    *filter(this: It, f: (x: unknown, i: number) => boolean) {
      let i = 0;
      for (const x of this) if (f(x, i++)) yield x;
    },
    toArray(this: It) {
      return [...this];
    },
    forEach(this: It, f: (x: unknown, i: number) => void) {
      let i = 0;
      for (const x of this) f(x, i++);
    },
  };
  for (const [name, fn] of Object.entries(helpers)) {
    Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true });
  }
}

// --- worker_threads adapter -------------------------------------------------------------

// Runs inside each worker_threads worker: gives the Web Worker script the globals it uses
// (self, onmessage, postMessage), then evaluates it when its source arrives first.
const BOOTSTRAP = `
const { parentPort } = require("node:worker_threads");
globalThis.self = globalThis;
globalThis.postMessage = (m) => parentPort.postMessage(m);
parentPort.once("message", (src) => {
  (0, eval)(src);
  parentPort.on("message", (data) => globalThis.onmessage({ data }));
});
`;

/**
 * A global `Worker` that runs a Blob-URL module script on worker_threads. Each worker is
 * unref'd while idle so it never keeps the process alive, and ref'd while a reply is due so
 * an awaited kernel cannot be dropped by an exiting event loop.
 */
class BlobUrlWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  readonly #worker: NodeWorker;
  #pending = 0;
  #queue: unknown[] | null = [];

  constructor(url: string | URL) {
    const blob = resolveObjectURL(String(url));
    if (!blob) throw new Error(`worker adapter: no Blob behind ${String(url)}`);
    this.#worker = new NodeWorker(BOOTSTRAP, { eval: true });
    this.#worker.unref();
    this.#worker.on("message", (data: unknown) => {
      if (--this.#pending === 0) this.#worker.unref();
      this.onmessage?.({ data });
    });
    this.#worker.on("error", (e: Error) => this.onerror?.({ message: e.message }));
    void blob.text().then((src) => {
      this.#worker.postMessage(src);
      for (const m of this.#queue ?? []) this.#worker.postMessage(m);
      this.#queue = null;
    });
  }

  postMessage(data: unknown): void {
    // Every message the pool sends (init, kernel, routine) gets exactly one reply.
    if (this.#pending++ === 0) this.#worker.ref();
    if (this.#queue) this.#queue.push(data);
    else this.#worker.postMessage(data);
  }

  terminate(): void {
    void this.#worker.terminate();
  }
}

function installWorkerAdapter(): void {
  const g = globalThis as Record<string, unknown>;
  if (g.Worker === undefined) g.Worker = BlobUrlWorker;
}
