#!/usr/bin/env -S node --import tsx

// Runs the CLI from the TypeScript sources in src/ through tsx, with no build needed.
//
// Left to itself, @oclif/core would run the compiled dist/ instead: even in development mode it
// prefers oclif.manifest.json, which `npm run build` writes and which points at dist/commands.
// So the root plugin is loaded here without the manifest, with its commands read from src/commands.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Config, execute, Plugin } from "@oclif/core";

process.env.NODE_ENV = "development";
const root = fileURLToPath(new URL("..", import.meta.url));
const pjson = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
pjson.oclif.commands = "./src/commands";

const rootPlugin = new Plugin({ root, isRoot: true, ignoreManifest: true, pjson });
await rootPlugin.load();
const config = new Config({ root, plugins: new Map([[rootPlugin.name, rootPlugin]]) });
await config.load();
// Passing the root plugin skips the plugins listed in package.json (@oclif/plugin-help): load them.
await config.loadPluginsAndCommands({ force: true });

// `tinyo` alone opens the REPL.
const args = process.argv.length > 2 ? undefined : ["repl"];
await execute({ development: true, loadOptions: config, args });
