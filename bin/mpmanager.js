#!/usr/bin/env node
// The `mpmanager` command. It runs the compiled CLI in dist/ (built by `npm run build`, which `npm pack`
// and `npm publish` run through prepack) with plain Node. Node resolves the symlinks npm makes for bins
// (node_modules/.bin/mpmanager, a global prefix's bin/mpmanager) to this file, so the import below is
// relative to the package wherever it is linked from.
import { main } from '../dist/src/cli.js';

process.exitCode = await main(process.argv.slice(2));
