import type { Config } from './config.ts';
import { errorMessage, isPermanent } from './errors.ts';
import { openAIProviderFor } from './llm/index.ts';
import { EmbeddingDimensionError } from './vector/openai-embedder.ts';
import { createEmbedding } from './vector/providers.ts';

// `blog-poster doctor`: before the first post, whether the configured model and embedding endpoints answer,
// and answer as configured (the model exists, the vectors have EMBEDDING_DIMENSION dimensions). Each finding
// names what to change.

export type Finding = { check: string; ok: boolean; detail: string; fix?: string };

export async function diagnose(config: Config): Promise<Finding[]> {
  return [await modelFinding(config), await embeddingFinding(config)];
}

async function modelFinding(config: Config): Promise<Finding> {
  if (config.LLM_PROVIDER !== 'openai')
    return { check: 'model', ok: true, detail: 'the offline writer (LLM_PROVIDER=local): nothing to reach' };
  const provider = openAIProviderFor(config);
  try {
    const report = await provider.probe!();
    const listing =
      report.listed === null ? 'the server lists no models' : report.listed ? 'listed' : 'not listed, yet it answered';
    return { check: 'model', ok: true, detail: `${report.model} at ${report.endpoint} answers (${listing})` };
  } catch (err) {
    return {
      check: 'model',
      ok: false,
      detail: errorMessage(err),
      fix: isPermanent(err)
        ? 'correct OPENAI_BASE_URL, OPENAI_API_KEY or OPENAI_MODEL as the message says'
        : 'start the model server, or point OPENAI_BASE_URL at one that runs (and ' +
          'raise LLM_TIMEOUT_MS for a slow one)',
    };
  }
}

async function embeddingFinding(config: Config): Promise<Finding> {
  let embedder: ReturnType<typeof createEmbedding>['embedder'];
  try {
    embedder = createEmbedding(config).embedder;
  } catch (err) {
    return { check: 'embeddings', ok: false, detail: errorMessage(err), fix: 'set the variable it names' };
  }
  if (!embedder.probe)
    return {
      check: 'embeddings',
      ok: true,
      detail: `the offline embedder ${embedder.model}, ${embedder.dimension} dimensions: nothing to reach`,
    };
  try {
    const report = await embedder.probe();
    return {
      check: 'embeddings',
      ok: true,
      detail:
        `${report.model} at ${report.endpoint} answers with ${report.dimension}-dimensional ` +
        `vectors, as EMBEDDING_DIMENSION says`,
    };
  } catch (err) {
    return {
      check: 'embeddings',
      ok: false,
      detail: errorMessage(err),
      fix:
        err instanceof EmbeddingDimensionError
          ? `set EMBEDDING_DIMENSION=${err.actual} (or EMBEDDING_SEND_DIMENSIONS=true ` +
            `for a model that can shorten its vectors), then run blog-poster reindex`
          : isPermanent(err)
            ? 'correct EMBEDDING_BASE_URL, EMBEDDING_API_KEY or EMBEDDING_MODEL as the message says'
            : 'start the embedding server, or point EMBEDDING_BASE_URL at one that runs',
    };
  }
}

/** Prints the findings, one line each; the exit code is 1 when any failed. */
export async function runDoctor(config: Config, print: (line: string) => void = console.log): Promise<number> {
  const findings = await diagnose(config);
  for (const f of findings) {
    print(`${f.ok ? 'ok  ' : 'FAIL'}  ${f.check.padEnd(10)}  ${f.detail}`);
    if (f.fix) print(`      ${''.padEnd(10)}  fix: ${f.fix}`);
  }
  const failed = findings.filter((f) => !f.ok);
  print(
    failed.length
      ? `\n${failed.length} of ${findings.length} checks failed: ${failed.map((f) => f.check).join(', ')}`
      : '\nall checks passed',
  );
  return failed.length ? 1 : 0;
}
