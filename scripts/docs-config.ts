/** Prints the README's configuration table from the config schema (`npm run docs:config`). */
import { configTableMarkdown } from '@taskfleet/core';

process.stdout.write(`${configTableMarkdown()}\n`);
