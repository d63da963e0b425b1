// The program's entry point: the CLI from src/ with the processors it runs.
import { pipeline } from '../processors/registry.ts';
import { runCli } from '../src/cli.ts';

await runCli(process.argv.slice(2), pipeline);
