// Fills Node's compile cache (NODE_COMPILE_CACHE, else a folder in the temporary directory) with every module of the
// service, so that the first start of a role from this tree finds them all there and never loads the type stripper
// (see bin/blog-poster.js). The Docker image runs it when it is built; `node scripts/warm-compile-cache.ts`.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cache = module.enableCompileCache();
if (cache.status === module.constants.compileCacheStatus.FAILED) throw new Error(`no compile cache: ${cache.message}`);
// Importing a module runs nothing but its declarations (the cover's also sets up its WebAssembly); bin/main.ts, which
// runs the CLI, is cached by running it.
for (const file of globSync(['src/**/*.ts', 'queues/**/*.ts', 'processors/**/*.ts'], { cwd: root })) {
  await import(join(root, file));
}
module.flushCompileCache();
const help = spawnSync(process.execPath, [join(root, 'bin/blog-poster.js'), '--help'], { stdio: 'ignore' });
if (help.status !== 0) throw new Error(`blog-poster --help exited with ${help.status}`);
console.log(`compile cache filled: ${cache.directory}`);
process.exit(0);
