#!/usr/bin/env node
import { main } from './run-pathcheck.js';

process.exitCode = await main(process.argv.slice(2));
