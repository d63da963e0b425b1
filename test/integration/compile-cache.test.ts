import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
// Says on exit whether the process loaded Node's type stripper (amaro).
const reportStripper =
  "data:text/javascript,process.on('exit',()=>console.error('type stripper loaded:'," +
  "process.moduleLoadList.some((m)=>m.includes('amaro'))))";

function stripperLoaded(cache: string, args: string[]): boolean {
  const run = spawnSync(process.execPath, ['--import', reportStripper, ...args], {
    cwd: root,
    env: { ...process.env, NODE_COMPILE_CACHE: cache },
    encoding: 'utf8',
  });
  const said = /type stripper loaded: (true|false)/.exec(run.stderr);
  if (run.status !== 0 || !said) throw new Error(`${args.join(' ')} exited with ${run.status}: ${run.stderr}`);
  return said[1] === 'true';
}

describe('the compile cache of the service entry point', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  // Seconds a process on a loaded machine, and the warm-up imports every module.
  it('once filled, lets the service start without the type stripper', { timeout: 120_000 }, async () => {
    const cache = await mkdtemp(join(tmpdir(), 'bp-compile-cache-'));
    dirs.push(cache);
    // An empty cache: the first start strips the types itself.
    expect(stripperLoaded(cache, ['bin/blog-poster.js', '--help'])).toBe(true);

    const filled = await mkdtemp(join(tmpdir(), 'bp-compile-cache-'));
    dirs.push(filled);
    const warm = spawnSync(process.execPath, ['scripts/warm-compile-cache.ts'], {
      cwd: root,
      env: { ...process.env, NODE_COMPILE_CACHE: filled },
      encoding: 'utf8',
    });
    expect(warm.status, warm.stderr).toBe(0);
    expect(stripperLoaded(filled, ['bin/blog-poster.js', '--help'])).toBe(false);
    // What a role loads beyond the CLI (the API, the processors) is in it too.
    const loadRoles =
      "import('./src/http/app.ts').then(() => import('./processors/registry.ts')).then(() => process.exit(0))";
    expect(stripperLoaded(filled, ['--input-type=module', '-e', loadRoles])).toBe(false);
  });
});
