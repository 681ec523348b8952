/** Writes the generated config reference to stdout (npm run docs:config > docs/config.md). */
import { configReference } from '../config/reference.js';

process.stdout.write(configReference());
