#!/usr/bin/env node

import { execute } from "@oclif/core";

// `tinyo` alone opens the REPL.
await execute({ dir: import.meta.url, args: process.argv.length > 2 ? undefined : ["repl"] });
