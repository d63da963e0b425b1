// The program's entry point: the CLI from src/ with the processors it runs, loaded only by the roles that run them.
import { runCli } from '../src/cli.ts';

await runCli(process.argv.slice(2), async () => (await import('../processors/registry.ts')).pipeline);
