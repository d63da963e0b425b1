import type { Config } from '../config.ts';
import { isPermanent } from '../errors.ts';
import type { HealthCheck } from '../health-checks.ts';
import { briefKeywords, type Brief } from './brief.ts';
import { createOpenAIProvider } from './openai-provider.ts';
import { finalizePost, type GeneratedPost } from './post.ts';
import type { ChatProvider, SourceDoc, Writer } from './types.ts';

export type LlmProviderName = 'local' | 'openai';

// One SDK client per configuration for the whole process (it pools its connections).
const chatProviders = new Map<string, ChatProvider>();

export function openAIProviderFor(config: Config): ChatProvider {
  const key = JSON.stringify([
    config.OPENAI_BASE_URL,
    config.OPENAI_API_KEY,
    config.OPENAI_ORGANIZATION,
    config.OPENAI_MODEL,
    config.LLM_TIMEOUT_MS,
  ]);
  let provider = chatProviders.get(key);
  if (!provider) {
    provider = createOpenAIProvider({
      baseURL: config.OPENAI_BASE_URL,
      apiKey: config.OPENAI_API_KEY,
      organization: config.OPENAI_ORGANIZATION,
      model: config.OPENAI_MODEL,
      timeoutMs: config.LLM_TIMEOUT_MS,
    });
    chatProviders.set(key, provider);
  }
  return provider;
}

/**
 * Readiness of the configured model endpoint: it answers GET /models. Not critical while it is only unreachable
 * (posts wait for it, submissions still queue); critical when it refuses us (a wrong key, a wrong URL), which no
 * wait will mend.
 */
export function modelEndpointCheck(config: Config): HealthCheck {
  const provider = openAIProviderFor(config);
  return {
    name: 'model',
    critical: false,
    async check() {
      try {
        return await provider.check!();
      } catch (err) {
        throw isPermanent(err) ? Object.assign(err, { critical: true }) : err;
      }
    },
  };
}

/**
 * The offline path: the extractive writer's draft, held to the same SEO bounds as a model's. It copies the
 * sources' sentences, so it writes in their language (`language`, when the caller has told it) whatever the brief.
 */
export async function writeLocally(
  writer: Writer,
  sources: SourceDoc[],
  brief: Brief,
  language?: string,
): Promise<GeneratedPost> {
  const draft = await writer.write({ sources, keywords: briefKeywords(brief), language });
  return finalizePost({
    title: draft.title,
    markdown: draft.markdown,
    metaDescription: draft.metaDescription,
    slug: draft.slug,
    tags: draft.tags,
    citations: draft.citations,
    brief,
    writer: `${writer.provider}/${writer.model}`,
    // The writer's description is made of sentences that stand alone; the post's others may not.
    leadSentences: [],
    language: draft.language ?? language,
  });
}
