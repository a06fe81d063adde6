import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BnformerError } from "../../src/errors.ts";
import {
  cellsToCsv,
  parseEvalResult,
  resultToJson,
  summaryToCsv,
  TV_CSV_COLUMNS,
  writeResults,
} from "../../src/eval/results-io.ts";
import { smallResult, ODD_NAME } from "./fixtures.ts";

/** Minimal RFC 4180 reader for the checks (quoted fields, doubled quotes). */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.trimEnd().split("\n")) {
    const fields: string[] = [];
    let i = 0;
    while (i <= line.length) {
      if (line[i] === '"') {
        let s = "";
        i++;
        while (!(line[i] === '"' && line[i + 1] !== '"')) {
          s += line[i];
          i += line[i] === '"' ? 2 : 1;
        }
        fields.push(s);
        i += 2;
      } else {
        const end = line.indexOf(",", i) < 0 ? line.length : line.indexOf(",", i);
        fields.push(line.slice(i, end));
        i = end + 1;
      }
    }
    rows.push(fields);
  }
  return rows;
}

test("the long CSV has one row per cell with the stated columns and full precision", async () => {
  const r = await smallResult();
  const rows = readCsv(cellsToCsv(r));
  assert.deepEqual(rows[0], [...TV_CSV_COLUMNS]);
  assert.equal(rows.length - 1, r.cells.length);
  r.cells.forEach((c, i) => {
    const row = rows[i + 1]!;
    assert.equal(row.length, TV_CSV_COLUMNS.length);
    assert.deepEqual(row.slice(0, 4), [c.method, String(c.seed), String(c.length), c.node]);
    assert.equal(Number(row[4]), c.tvMean);
    assert.equal(Number(row[5]), c.tvSe);
    assert.equal(Number(row[6]), c.unseenFraction);
    assert.equal(Number(row[7]), c.episodes);
    assert.equal(row[8], c.fallbackFraction === null ? "" : String(c.fallbackFraction));
  });
  assert.ok(
    rows.some((row) => row[0] === ODD_NAME),
    "a quoted name reads back intact",
  );
});

test("the summary CSV leaves sd empty with one seed", async () => {
  const rows = readCsv(summaryToCsv(await smallResult([5])));
  assert.equal(rows[0]![4], "tv_sd");
  assert.ok(rows.slice(1).every((row) => row[4] === "" && row[6] === "1"));
});

test("the JSON reads back to the same result; other JSON is refused", async () => {
  const r = await smallResult();
  assert.deepEqual(parseEvalResult(resultToJson(r)), JSON.parse(JSON.stringify(r)));
  assert.throws(
    () => parseEvalResult('{"format": "other"}', "x.json"),
    (e: unknown) => e instanceof BnformerError && e.code === "parse" && /x\.json/.test(e.message),
  );
  assert.throws(() => parseEvalResult("{", "x.json"), /not JSON/);
});

test("writeResults writes the CSVs and the JSON into the folder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-results-"));
  try {
    const r = await smallResult();
    const files = writeResults(r, join(dir, "nested"), "g5-");
    assert.deepEqual(files, {
      csv: "g5-tv.csv",
      summaryCsv: "g5-tv-summary.csv",
      json: "g5-results.json",
    });
    assert.equal(readFileSync(join(dir, "nested", files.csv), "utf8"), cellsToCsv(r));
    assert.equal(readFileSync(join(dir, "nested", files.json), "utf8"), resultToJson(r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
