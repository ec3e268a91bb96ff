// Reference roots and proofs from @openzeppelin/merkle-tree, for tests and benchmarks.
//
// stdin: {"cases": [{"values": ["0x<32 bytes>", ...]}], "proofs": true}
//   -> stdout: {"version": "<lib version>", "cases": [{"root", "leafHashes", "proofs", "buildMs"}]}
// Values are bytes32 leaves (leafEncoding ["bytes32"]); proofs are in input order.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const require = createRequire(import.meta.url);
const version = require("@openzeppelin/merkle-tree/package.json").version;
const input = JSON.parse(readFileSync(0, "utf8"));

const cases = input.cases.map(({ values }) => {
  const started = process.hrtime.bigint();
  const tree = StandardMerkleTree.of(values.map((v) => [v]), ["bytes32"]);
  const buildMs = Number(process.hrtime.bigint() - started) / 1e6;
  const out = { root: tree.root, buildMs };
  if (input.proofs) {
    out.leafHashes = values.map((v) => tree.leafHash([v]));
    out.proofs = values.map((_, i) => tree.getProof(i));
  }
  return out;
});
process.stdout.write(JSON.stringify({ version, cases }));
