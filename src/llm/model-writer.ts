import { z } from 'zod';
import { briefKeywords, type Brief } from './brief.ts';
import type { CallScope, Gateway } from './gateway.ts';
import {
  countWords,
  finalizePost,
  leadSentences,
  readableBody,
  sourcesSection,
  sourceTitle,
  stripSources,
  type GeneratedPost,
} from './post.ts';
import type { ChatMessage, Citation, SourceDoc } from './types.ts';
import { language, sectionLabels } from '../text/language.ts';

// The model writes in steps: outline (JSON) → draft (Markdown) → metadata (JSON) → expansion while the draft
// is under the brief's minimum. Each step is one gateway call, so each is budgeted, limited, cached and recorded.

const MAX_SOURCE_CHARS = 12_000;
const MAX_TOTAL_SOURCE_CHARS = 48_000;
const MAX_EXPANSIONS = 2;

const outlineSchema = z.object({
  title: z.string().min(1),
  sections: z
    .array(z.object({ heading: z.string().min(1), points: z.array(z.string()), sources: z.array(z.number().int()) }))
    .min(1),
  keyTakeaways: z.array(z.string()),
});
type Outline = z.infer<typeof outlineSchema>;

const metadataSchema = z.object({
  title: z.string().min(1),
  metaTitle: z.string().min(1),
  metaDescription: z.string().min(1),
  slug: z.string().min(1),
  tags: z.array(z.string()),
  category: z.string().min(1),
  heroImagePrompt: z.string().min(1),
  heroImageAlt: z.string().min(1),
});

/** JSON Schema for structured outputs: every property required, nothing else allowed (OpenAI's strict mode). */
function strictObject(properties: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties };
}
const str = { type: 'string' };
const outlineJsonSchema = strictObject({
  title: str,
  sections: {
    type: 'array',
    items: strictObject({
      heading: str,
      points: { type: 'array', items: str },
      sources: { type: 'array', items: { type: 'integer' } },
    }),
  },
  keyTakeaways: { type: 'array', items: str },
});
const metadataJsonSchema = strictObject({
  title: str,
  metaTitle: str,
  metaDescription: str,
  slug: str,
  tags: { type: 'array', items: str },
  category: str,
  heroImagePrompt: str,
  heroImageAlt: str,
});

function parseJson<T>(schema: z.ZodType<T>, content: string): T {
  const text = content.trim().replace(/^```(?:json)?\s*|\s*```$/g, '');
  return schema.parse(JSON.parse(text));
}

function system(brief: Brief): ChatMessage {
  const lines = [
    'You write blog posts strictly from the numbered sources you are given.',
    'Every number, date, quotation and name you write must appear in the sources. Never add facts of your own.',
    'After each sentence that uses a source, cite it with its number in square brackets, e.g. [2].',
    `Write in ${language(brief.language).name} (the language with the tag "${brief.language}"), whatever the sources' language.`,
  ];
  if (brief.brandVoice) lines.push(`Brand voice: ${brief.brandVoice}`);
  if (brief.audience) lines.push(`Audience: ${brief.audience}`);
  const keywords = briefKeywords(brief);
  if (brief.primaryKeyword)
    lines.push(
      `Primary keyword: "${brief.primaryKeyword}" — use it in the title, the first paragraph and the meta description.`,
    );
  if (keywords.length > 1)
    lines.push(
      `Secondary keywords: ${keywords
        .slice(1)
        .map((k) => `"${k}"`)
        .join(', ')}.`,
    );
  return { role: 'system', content: lines.join('\n') };
}

function sourcesBlock(sources: SourceDoc[]): string {
  let budget = MAX_TOTAL_SOURCE_CHARS;
  return sources
    .map((s, i) => {
      const text = s.text.slice(0, Math.max(0, Math.min(MAX_SOURCE_CHARS, budget)));
      budget -= text.length;
      return `[${i + 1}] ${sourceTitle(s, i)}${s.url ? ` (${s.url})` : ''}\n${text}`;
    })
    .join('\n\n---\n\n');
}

function draftTokens(brief: Brief): number {
  // About 1.4 tokens a word, with room for markers and headings.
  return Math.min(16_000, Math.ceil(brief.maxWords * 1.6) + 400);
}

export async function writeWithModel(
  gateway: Gateway,
  scope: CallScope,
  input: { sources: SourceDoc[]; brief: Brief; temperature: number },
): Promise<GeneratedPost> {
  const { sources, brief } = input;
  const sourceText = sourcesBlock(sources);
  // Every step is told the post's language again beside its task, where a small model looks.
  const inLanguage = `Write it in ${language(brief.language).name}.`;
  const labels = sectionLabels(brief.language);
  const base = [system(brief)];
  const temperature = input.temperature;

  const outlineReply = await gateway.chat(
    {
      step: 'outline',
      messages: [
        ...base,
        {
          role: 'user',
          content: `Sources:\n\n${sourceText}\n\nPlan a blog post of ${brief.minWords}–${brief.maxWords} words from these sources. Give a title of at most 60 characters, two to six sections (a heading, the points it makes and the numbers of the sources it draws on) and three to five key takeaways. ${inLanguage}`,
        },
      ],
      jsonSchema: { name: 'outline', schema: outlineJsonSchema },
      maxTokens: 1500,
      temperature,
    },
    scope,
    (content) => void parseJson(outlineSchema, content),
  );
  const outline = parseJson(outlineSchema, outlineReply.content);

  const draftReply = await gateway.chat(
    {
      step: 'draft',
      messages: [
        ...base,
        {
          role: 'user',
          content: `Sources:\n\n${sourceText}\n\nOutline (JSON):\n${JSON.stringify(outline)}\n\nWrite the post in Markdown from this outline: an introduction, one "## " section per outline section, a "## ${labels.takeaways}" list and a short conclusion. No H1 and no list of sources (it is added for you). Between ${brief.minWords} and ${brief.maxWords} words. Cite every factual sentence. ${inLanguage}`,
        },
      ],
      maxTokens: draftTokens(brief),
      temperature,
    },
    scope,
    checkDraft,
  );
  let body = cleanDraft(draftReply.content);

  for (let i = 0; i < MAX_EXPANSIONS && countWords(readableBody(body)) < brief.minWords; i++) {
    const expanded = await gateway.chat(
      {
        step: 'expansion',
        messages: [
          ...base,
          {
            role: 'user',
            content: `Sources:\n\n${sourceText}\n\nDraft:\n\n${body}\n\nThe draft has ${countWords(readableBody(body))} words; it needs at least ${brief.minWords}. Expand it with more detail from the sources only, keeping its headings, citations and Markdown. Return the whole post. ${inLanguage}`,
          },
        ],
        maxTokens: draftTokens(brief),
        temperature,
      },
      scope,
      checkDraft,
    );
    body = cleanDraft(expanded.content);
  }

  const metadataReply = await gateway.chat(
    {
      step: 'metadata',
      messages: [
        ...base,
        {
          role: 'user',
          content: `Post:\n\n${body}\n\nGive its SEO metadata: title (at most 60 characters), metaTitle (45–60 characters), metaDescription (140–160 characters), slug (lowercase letters, digits and hyphens), up to 10 tags, one category, a prompt for a hero image and the image's alt text. ${inLanguage}`,
        },
      ],
      jsonSchema: { name: 'metadata', schema: metadataJsonSchema },
      maxTokens: 800,
      temperature,
    },
    scope,
    (content) => void parseJson(metadataSchema, content),
  );
  const meta = parseJson(metadataSchema, metadataReply.content);

  const { markdown, citations } = attachSources(body, sources, brief.language);
  return finalizePost({
    title: meta.title || outline.title,
    markdown,
    metaTitle: meta.metaTitle,
    metaDescription: meta.metaDescription,
    slug: meta.slug,
    tags: [...briefKeywords(brief), ...meta.tags],
    category: meta.category,
    heroImage: { prompt: meta.heroImagePrompt, alt: meta.heroImageAlt },
    citations,
    brief,
    writer: `${gateway.provider.name}/${gateway.provider.model}`,
    leadSentences: leadSentences(body, brief.language),
  });
}

function checkDraft(content: string): void {
  if (countWords(content) < 20) throw new Error('the draft is too short to be a post');
}

/** The model's H1 and any sources list of its own are dropped: the title is the H1, and the list is built here. */
function cleanDraft(content: string): string {
  const text = content.trim().replace(/^```(?:markdown|md)?\s*\n([\s\S]*?)\n```$/i, '$1');
  return stripSources(text.replace(/^# .*$/m, '')).trim();
}

/**
 * Markers refer to the sources as numbered in the prompt; the post lists only the ones it cites, numbered
 * again in order. Markers naming no source are left as they are for the grounding gate to report.
 */
export function attachSources(
  body: string,
  sources: SourceDoc[],
  lang?: string,
): { markdown: string; citations: Citation[] } {
  const used = [...new Set([...body.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))]
    .filter((n) => n >= 1 && n <= sources.length)
    .sort((a, b) => a - b);
  const renumber = new Map(used.map((n, i) => [n, i + 1]));
  const markdown = body.replace(/\[(\d+)\]/g, (marker, n: string) => {
    const next = renumber.get(Number(n));
    return next ? `[${next}]` : marker;
  });
  const citations = used.map((n) => {
    const source = sources[n - 1]!;
    return { sourceId: source.id, title: sourceTitle(source, n - 1), url: source.url };
  });
  return { markdown: `${markdown.trimEnd()}\n\n${sourcesSection(citations, lang)}`, citations };
}

export type { Outline };
