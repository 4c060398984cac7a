import test from "node:test";
import assert from "node:assert/strict";
import { parseArgs } from "../src/args.js";
import { run, tempFile } from "../test/helpers.js";

test("--name=value sets a flag", () => {
  assert.deepEqual(parseArgs(["list", "--file=work.json", "--port=8080"]), {
    command: "list",
    positionals: [],
    flags: { file: "work.json", port: "8080" },
  });
  assert.deepEqual(parseArgs(["list", "--note=a=b"]).flags, { note: "a=b" });
});

test("--file=path is the file the CLI uses", async (t) => {
  const file = await tempFile(t);
  await run(["add", "x", `--file=${file}`]);
  assert.equal((await run(["list", `--file=${file}`])).stdout, "  1 [ ] x\n");
});

test("--name value still works", () => {
  assert.deepEqual(parseArgs(["list", "--file", "a.json"]).flags, { file: "a.json" });
});
