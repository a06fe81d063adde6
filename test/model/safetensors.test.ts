import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "../../src/model/spec.ts";
import { decodeSafetensors, encodeSafetensors } from "../../src/model/safetensors.ts";
import { readSafetensors, writeSafetensors } from "../../src/model/safetensors-file.ts";

const f32 = (shape: number[], data: number[]): Tensor => ({ shape, data: Float32Array.from(data) });
const f64 = (shape: number[], data: number[]): Tensor => ({ shape, data: Float64Array.from(data) });

/** A file assembled by hand: 8-byte LE length, the header text, then the data bytes. */
function handMade(header: string, data: number[]): Uint8Array {
  const h = Buffer.from(header, "utf8");
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test("the byte layout: LE length, JSON header padded to 8 with spaces, F64 before F32, LE data", () => {
  const bytes = encodeSafetensors(
    new Map([
      ["b", f32([2], [1.5, -2])],
      ["a", f64([1], [0.25])],
    ]),
    { k: "v" },
  );
  const json =
    '{"__metadata__":{"k":"v"},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
    '"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}';
  const padded = json + " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const expected = handMade(padded, [
    ...[0, 0, 0, 0, 0, 0, 0xd0, 0x3f], // 0.25 as float64 LE (0x3FD0000000000000)
    ...[0, 0, 0xc0, 0x3f], // 1.5 as float32 LE (0x3FC00000)
    ...[0, 0, 0, 0xc0], // -2 as float32 LE (0xC0000000)
  ]);
  assert.deepEqual(Array.from(bytes), Array.from(expected));
  assert.equal((8 + padded.length) % 8, 0);
});

test("a written file reads back with the same names, shapes, dtypes, values and metadata", () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-st-"));
  try {
    const tensors = new Map<string, Tensor>([
      ["layers.0.attn.wq", f64([2, 3], [1, -0, Math.PI, 1e-300, -Infinity, NaN])],
      ["x", f32([3], [0.1, 3e38, -1e-45])],
      ["empty", f32([0, 4], [])],
      ["scalar", f64([], [42])],
    ]);
    const path = join(dir, "m.safetensors");
    writeSafetensors(path, tensors, { format: "test", note: "ünïcode" });
    const back = readSafetensors(path);
    assert.deepEqual(back.metadata, { format: "test", note: "ünïcode" });
    assert.deepEqual([...back.tensors.keys()].sort(), [...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const u = back.tensors.get(name)!;
      assert.deepEqual(u.shape, t.shape);
      assert.equal(u.data.constructor, t.data.constructor, name);
      // Object.is: NaN equals NaN, -0 differs from 0, so the bits round-trip exactly.
      t.data.forEach((x, i) => assert.ok(Object.is(u.data[i], x), `${name}[${i}]`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("malformed files are refused with the reason", () => {
  const ok = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(5), /5 bytes, shorter than the 8-byte header length/],
    [handMade(ok, [0, 0, 0]).subarray(0, 20), /header length \d+ exceeds the file/],
    [handMade("[1, 2]", []), /the header does not start with "\{"/],
    [handMade("{not json}", []), /header is not JSON/],
    [
      handMade('{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', new Array(8).fill(0)),
      /a: .*dtype "I64" is not supported/,
    ],
    [
      handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      /hold 4 bytes; shape \[2\] of F32 needs 8/,
    ],
    [
      handMade('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Array(8).fill(0)),
      /leave a hole at byte 0/,
    ],
    [
      handMade(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        new Array(8).fill(0),
      ),
      /overlap another tensor/,
    ],
    [handMade(ok, new Array(8).fill(0)), /tensors cover 4 data bytes but the file holds 8/],
    [handMade('{"__metadata__":{"n":1}}', []), /metadata "n" is number, expected a string/],
  ];
  for (const [bytes, re] of cases) assert.throws(() => decodeSafetensors(bytes, "f.st"), re);
  assert.throws(
    () => decodeSafetensors(new Uint8Array(5), "f.st"),
    /^BnformerError: f.st: not a valid safetensors file/,
  );
});

test("a tensor whose data does not fit its shape is refused when writing", () => {
  assert.throws(
    () => encodeSafetensors(new Map([["w", { shape: [2, 2], data: new Float32Array(3) }]])),
    /tensor "w" has 3 values for shape \[2,2\]/,
  );
});
