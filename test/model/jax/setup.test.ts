import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createRng } from "../../../src/bn/rng.ts";
import { TOKEN_CONTEXT, TOKEN_QUERY } from "../../../src/model/spec.ts";
import { jaxConfig, jaxLib, loadJax } from "../../../src/model/jax/setup.ts";
import { createExecutor, paramsFromWeights } from "../../../src/model/jax/executor.ts";
import { SMALL_SPEC, randomTokens, randomWeights } from "../construction-fixtures.ts";

/** Set in the child process this file spawns to run a forward pass with a worker pool. */
const CHILD_ENV = "BNFORMER_JAX_SETUP_CHILD_THREADS";

/** A fixed forward pass (seeded weights and tokens), as plain numbers. */
async function fixedForward(): Promise<number[]> {
  const rng = createRng(21);
  const spec = SMALL_SPEC;
  const params = paramsFromWeights(spec, randomWeights(rng, spec, 0.5));
  const B = 4;
  const T = 40;
  const kinds = new Uint8Array(B * T).fill(TOKEN_CONTEXT);
  for (let b = 0; b < B; b++) kinds[b * T + T - 1] = TOKEN_QUERY;
  const tokens = Float32Array.from(randomTokens(rng, B * T, spec.inputDim));
  const ex = await createExecutor(spec);
  const out = await ex.forwardAll(params, { tokens, kinds, shape: [B, T, spec.inputDim] });
  jaxLib().tree.dispose(params);
  ex.dispose();
  return Array.from(out);
}

if (process.env[CHILD_ENV]) {
  await loadJax({ threads: Number(process.env[CHILD_ENV]) });
  console.log(JSON.stringify(await fixedForward()));
  // No explicit exit: the idle workers must not keep the process alive.
} else {
  test("jaxLib() before loadJax() explains what to do", () => {
    assert.throws(() => jaxLib(), /jax-js is not loaded: await loadJax\(\) first/);
  });

  test("loading installs what Node 20 lacks: navigator, Float16Array, iterator helpers", async () => {
    const { numpy: np } = await loadJax({ threads: 1 });
    const g = globalThis as unknown as {
      navigator: { userAgent: string };
      Float16Array: new (n: number) => unknown;
    };
    assert.equal(typeof g.navigator.userAgent, "string");
    assert.ok(new g.Float16Array(2) instanceof Uint16Array);
    const a = np.array(new Float32Array([1, 2, 3, 4])).reshape([2, 2]);
    const prod = await np.einsum("ij,jk->ik", a.ref, a).data();
    assert.deepEqual(Array.from(prod), [7, 10, 15, 22]);
  });

  test("the configuration is fixed by the first load; a conflicting one is refused", async () => {
    await loadJax();
    assert.equal(jaxConfig().threads, 1);
    assert.throws(
      () => loadJax({ threads: 2 }),
      /already loaded with threads 1, relaxedSimd (true|false); cannot switch to 2/,
    );
    assert.throws(() => loadJax({ threads: 0 }), /threads must be an integer in 1\.\.64, got 0/);
  });

  test("a 2-thread worker pool gives the same outputs as one thread, and lets the process exit", async () => {
    await loadJax();
    const here = await fixedForward();
    const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
      encoding: "utf8",
      env: { ...process.env, [CHILD_ENV]: "2" },
      timeout: 60_000,
    });
    assert.equal(child.status, 0, `child failed or hung: ${child.stderr}`);
    const there = JSON.parse(child.stdout.trim().split("\n").pop()!) as number[];
    assert.equal(there.length, here.length);
    // Kernels split across workers may take the scalar path at chunk edges (another
    // summation order), so agreement is to float32 rounding, not bitwise.
    here.forEach((x, i) =>
      assert.ok(Math.abs(x - there[i]!) <= 1e-6 * Math.max(1, Math.abs(x)), `${i}`),
    );
  });
}
