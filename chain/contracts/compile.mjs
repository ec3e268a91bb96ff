// Compile Anchor.sol with the pinned npm `solc` (solc-js) into the committed artifact.
//
//   node chain/contracts/compile.mjs            -> rewrites chain/contracts/Anchor.json
//   node chain/contracts/compile.mjs --stdout   -> prints the artifact instead
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const solc = require("solc");
const here = dirname(fileURLToPath(import.meta.url));
const source = readFileSync(join(here, "Anchor.sol"), "utf8");

// paris: no PUSH0/MCOPY, so the bytecode runs on any post-merge EVM chain (Besu, Geth, L2s).
const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "paris",
  outputSelection: { "*": { Anchor: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};
const output = JSON.parse(
  solc.compile(JSON.stringify({ language: "Solidity", sources: { "Anchor.sol": { content: source } }, settings })),
);
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  process.stderr.write(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const contract = output.contracts["Anchor.sol"].Anchor;
const artifact = {
  contractName: "Anchor",
  sourceName: "chain/contracts/Anchor.sol",
  compiler: { name: "solc-js (npm solc)", version: solc.version(), settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion } },
  abi: contract.abi,
  bytecode: "0x" + contract.evm.bytecode.object,
  deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
};
const text = JSON.stringify(artifact, null, 2) + "\n";
if (process.argv.includes("--stdout")) process.stdout.write(text);
else writeFileSync(join(here, "Anchor.json"), text);
