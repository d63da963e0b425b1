import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectDb, type Db } from '../../src/db/pool.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestEnv, type TestEnv } from '../support/harness.ts';

// One connection per pool, so what the statements below see of pg_prepared_statements is what the queries before
// them left on it.
const envs: TestEnv[] = [];
let db: Db | undefined;

async function pool(prepared: boolean): Promise<Db> {
  const t = await createTestEnv({ DATABASE_POOL_MAX: '1', DATABASE_PREPARED_STATEMENTS: String(prepared) });
  envs.push(t);
  db = await connectDb(t.config, createLogger('silent'));
  return db;
}

async function preparedTexts(d: Db): Promise<string[]> {
  const { rows } = await d.query<{ statement: string }>(
    `SELECT statement FROM pg_prepared_statements WHERE NOT from_sql AND name <> $1`,
    ['-'],
  );
  return rows.map((r) => r.statement);
}

afterEach(async () => {
  await db?.close();
  db = undefined;
});
afterAll(async () => {
  for (const t of envs) await t.cleanup();
});

describe('prepared statements', () => {
  it('prepares a parameterised statement once per connection and runs it again by name', async () => {
    const d = await pool(true);
    const text = 'SELECT $1::int + 1 AS n /* prepared-once */';
    expect((await d.query<{ n: number }>(text, [1])).rows[0]!.n).toBe(2);
    expect((await d.query<{ n: number }>(text, [41])).rows[0]!.n).toBe(42);
    const texts = await preparedTexts(d);
    expect(texts.filter((s) => s === text)).toHaveLength(1);
  });

  it('leaves statements without parameters unprepared, so a script of several still runs', async () => {
    const d = await pool(true);
    await d.query('CREATE TABLE script_check (id int); INSERT INTO script_check VALUES (1)');
    expect((await d.query<{ id: number }>('SELECT id FROM script_check')).rows).toEqual([{ id: 1 }]);
    expect(await preparedTexts(d)).not.toContain('SELECT id FROM script_check');
  });

  it('runs a statement whose columns a migration changed, unprepared from then on', async () => {
    const d = await pool(true);
    await d.query('CREATE TABLE reshaped (id int, a text)');
    await d.query(`INSERT INTO reshaped VALUES (1, 'x')`);
    const text = 'SELECT * FROM reshaped WHERE id = $1';
    expect((await d.query(text, [1])).rows).toEqual([{ id: 1, a: 'x' }]);
    await d.query('ALTER TABLE reshaped ADD COLUMN b text');
    // PostgreSQL refuses the prepared plan ("cached plan must not change result type"); the query still answers.
    expect((await d.query(text, [1])).rows).toEqual([{ id: 1, a: 'x', b: null }]);
    expect((await d.query(text, [1])).rows).toEqual([{ id: 1, a: 'x', b: null }]);
  });

  it('prepares nothing when DATABASE_PREPARED_STATEMENTS is false', async () => {
    const d = await pool(false);
    await d.query('SELECT $1::int AS n /* not-prepared */', [1]);
    expect(await preparedTexts(d)).toEqual([]);
  });
});
