import { z } from 'zod';
import { PermanentError } from '../src/errors.ts';
import { applyDisclaimers, checkGrounding } from '../src/grounding/gate.ts';
import { briefKeywords, briefSchema, decideLanguage, resolveBrief } from '../src/llm/brief.ts';
import { handOn, hold, stop } from '../src/posts/lifecycle.ts';
import { BudgetExceededError, LlmRateLimitedError, LlmWaitError } from '../src/llm/errors.ts';
import { createGateway } from '../src/llm/gateway.ts';
import { openAIProviderFor, writeLocally } from '../src/llm/index.ts';
import { writeWithModel } from '../src/llm/model-writer.ts';
import { limitsFor } from '../src/llm/prompt-fit.ts';
import { countWords, readableBody, type GeneratedPost } from '../src/llm/post.ts';
import { withLengthBounds } from '../src/llm/local-writer.ts';
import type { SourceDoc } from '../src/llm/types.ts';
import { postForWriting, saveWrittenPost } from '../src/posts/store.ts';
import { lintSeo } from '../src/seo/lint.ts';
import type { StageContext, StageProcessor } from '../src/stage-runner.ts';
import type { TenantSettings } from '../src/tenant-settings.ts';

// Only the brief matters here; other stages read their own options.
const optionsSchema = z.object({ brief: briefSchema.optional() }).loose();

/**
 * Generate: writes the post from its ingested sources with the tenant's writer (the offline extractive writer,
 * or a model through the gateway: outline → draft → metadata → expansion), appends the policy's disclaimers,
 * lints its SEO, and runs the grounding gate. A post that fails the gate is saved and held as `needs_review`
 * (an approved post passes); one whose next model call would break the budget stops as `budget_exceeded`.
 */
export const generate: StageProcessor = async (job, ctx) => {
  const post = await ctx.load(postForWriting);
  const rows = post.sources;
  const sources: SourceDoc[] = rows
    .filter((r) => r.content)
    .map((r) => ({ id: r.id, kind: r.kind, title: r.title, url: r.url, siteName: r.siteName, text: r.content! }));
  // Ingest completed before this stage was enqueued, so missing content means the data is gone.
  if (sources.length === 0) throw new PermanentError('no ingested source text to write from');

  const { settings } = post;
  const options = optionsSchema.safeParse(post.options ?? {});
  const submitted = options.success ? options.data.brief : undefined;
  const providerName = settings.llmProvider ?? ctx.config.LLM_PROVIDER;
  // The post's language: the brief's for a model, the sources' for the offline writer (it copies sentences).
  const language = decideLanguage({
    requested: submitted?.language ?? settings.brief?.language ?? null,
    sources: rows.filter((r) => r.content).map((r) => ({ text: r.content!, declared: r.lang })),
    writer: providerName === 'local' ? 'local' : 'model',
  });
  const brief = { ...resolveBrief(settings.brief, submitted), language: language.tag };

  let written: GeneratedPost;
  try {
    // The offline writer expands towards the brief's minimum word count and keeps under its maximum.
    written =
      providerName === 'local'
        ? await writeLocally(withLengthBounds(ctx.providers.writer, brief), sources, brief, language.tag)
        : await writeWithGateway(ctx, post.tenant_id, job.postId, sources, brief, settings);
  } catch (err) {
    if (err instanceof BudgetExceededError) {
      // No further calls are made for it until an operator replays it from generate.
      ctx.log.warn({ ...err.details }, 'post stopped: budget exceeded');
      return stop('budget_exceeded', { reason: err.message, details: err.details });
    }
    if ((err instanceof LlmRateLimitedError || err instanceof LlmWaitError) && ctx.pauseStage) {
      throw await ctx.pauseStage(err.waitMs, err.message);
    }
    throw err;
  }

  const grounding = checkGrounding({
    markdown: written.markdown,
    citationCount: written.citations.length,
    sources,
    policy: settings.grounding,
    allowedTerms: briefKeywords(brief),
    language: written.language,
    fields: { title: written.title, metaDescription: written.metaDescription },
  });
  const { markdown, added: disclaimers } = applyDisclaimers(written.markdown, settings.grounding);
  const final = { ...written, markdown, wordCount: countWords(readableBody(markdown)) };
  const seo = lintSeo({ ...final, brief, siteUrl: ctx.config.PUBLIC_SITE_URL ?? null });

  const slug = await saveWrittenPost(ctx.db, job.postId, final, {
    seo,
    grounding: { ...grounding, disclaimers },
    language: { ...language, tag: final.language },
  });
  ctx.log.debug({ slug, words: final.wordCount, seoScore: seo.score, grounded: grounding.passed }, 'post written');

  if (!grounding.passed && !post.approved_at) {
    const count = grounding.failingSentences.length + grounding.problems.length;
    ctx.log.info({ findings: count }, 'post held for review: grounding failed');
    return hold('needs_review', 'generate', `grounding: ${count} finding${count === 1 ? '' : 's'} to review`, {
      failingSentences: grounding.failingSentences,
      problems: grounding.problems,
    });
  }
  return handOn();
};

async function writeWithGateway(
  ctx: StageContext,
  tenantId: string,
  postId: string,
  sources: SourceDoc[],
  brief: ReturnType<typeof resolveBrief>,
  settings: TenantSettings,
): Promise<GeneratedPost> {
  if (!ctx.redis) throw new Error('the generate stage needs Redis for the model cache and rate limits');
  const gateway = createGateway(
    { db: ctx.db, redis: ctx.redis, config: ctx.config, log: ctx.log },
    openAIProviderFor(ctx.config),
  );
  return writeWithModel(
    gateway,
    {
      tenantId,
      postId,
      limits: { monthlyBudgetUsd: settings.monthlyBudgetUsd, perPostCostCapUsd: settings.perPostCostCapUsd },
    },
    {
      sources,
      brief,
      temperature: ctx.config.LLM_TEMPERATURE,
      limits: limitsFor(ctx.config.LLM_MODEL_LIMITS, gateway.provider.model),
    },
  );
}
