import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// scripts/setup-wordpress.sh creates the folders it needs and never re-modes one that exists: with
// WP_ENV_FILE=/tmp/wp.env it used to turn /tmp (1777) into 0755, and MariaDB could no longer write
// its temp files. Its helpers are sourced here (sourcing runs no command) against a private folder.

const run = promisify(execFile);
const script = join(import.meta.dirname, '../../scripts/setup-wordpress.sh');

/** Sources the script with these variables and runs `body` in the same shell. */
async function sourced(env: Record<string, string>, body: string) {
  return run('bash', ['-c', `source "${script}"; ${body}`], { env: { ...process.env, ...env } });
}

const modeOf = async (path: string) => ((await stat(path)).mode & 0o7777).toString(8);

describe('setup-wordpress.sh folders', { skip: process.getuid?.() !== 0 }, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bp-setup-wp-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the env file into an existing shared folder without changing its mode', async () => {
    const shared = join(dir, 'shared-tmp');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const envFile = join(shared, 'wp.env');
    await sourced({ WP_ENV_FILE: envFile }, 'APP_PASSWORD="abcd efgh"; write_env');
    expect(await modeOf(shared)).toBe('1777');
    expect(await readFile(envFile, 'utf8')).toContain('WP_APP_PASSWORD=abcd efgh');
  });

  it('creates a missing folder with the mode asked for, and leaves an existing one alone', async () => {
    const existing = join(dir, 'existing');
    await mkdir(existing);
    await chmod(existing, 0o700);
    const missing = join(dir, 'parent', 'missing');
    await sourced({}, `ensure_dir 0750 "" "${existing}" "${missing}"`);
    expect(await modeOf(existing)).toBe('700');
    expect(await modeOf(missing)).toBe('750');
  });
});
