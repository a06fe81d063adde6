/** A small evaluation result shared by the figure, report and output tests. */
import type { Method } from "../../src/eval/episodes.ts";
import type { EvalResult } from "../../src/eval/protocol.ts";
import { runProtocol } from "../../src/eval/protocol.ts";
import { baselineMethods } from "../../src/eval/baselines.ts";
import { paperGraph } from "../../src/bn/families.ts";

/** A method with a name that needs quoting in CSV and escaping in markdown. */
export const ODD_NAME = 'half, "flat" | model';

const flat: Method = {
  name: ODD_NAME,
  description: "always 1/2",
  predict: (b) => new Float64Array(b.episodes * b.structure.variables.length * 2).fill(0.5),
};

const memo = new Map<string, Promise<EvalResult>>();

/** general5 under uniform(0.1, 0.9), 30 episodes per seed, lengths 1, 5, 20, 100 (memoised). */
export function smallResult(seeds: readonly number[] = [0, 1]): Promise<EvalResult> {
  const key = seeds.join(",");
  let hit = memo.get(key);
  if (hit === undefined) memo.set(key, (hit = run(seeds)));
  return hit;
}

function run(seeds: readonly number[]): Promise<EvalResult> {
  return runProtocol(
    {
      structure: paperGraph("general5"),
      lengths: [1, 5, 20, 100],
      episodes: 30,
      seeds,
      batchSize: 16,
    },
    (_s, c) => [...baselineMethods(c.prior, c.unseen), flat],
    { command: "bnformer eval --graph general5" },
  );
}
