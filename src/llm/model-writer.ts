import { z } from 'zod';
import { briefKeywords, type Brief } from './brief.ts';
import { LlmContextOverflowError, LlmTruncatedError, LlmUnusableReplyError } from './errors.ts';
import type { CallScope, Gateway } from './gateway.ts';
import { cleanDraft, cleanLine, cleanOutlineHeading, cleanTags, draftProblem, replyJson } from './model-output.ts';
import {
  countWords,
  finalizePost,
  leadSentences,
  readableBody,
  sourcesSection,
  sourceTitle,
  type GeneratedPost,
} from './post.ts';
import {
  ContextTooSmallError,
  fitSources,
  MIN_SOURCE_CHARS,
  replyRoom,
  sourceRoom,
  type ModelLimits,
} from './prompt-fit.ts';
import type { ChatMessage, Citation, LlmStep, SourceDoc } from './types.ts';
import { language, sectionLabels } from '../text/language.ts';

// The model writes in steps: outline (JSON) → draft (Markdown) → metadata (JSON) → expansion while the draft
// is under the brief's minimum. Each step is one gateway call, so each is budgeted, limited, cached and recorded;
// each prompt is fitted to the model's context, and each reply cleaned before it is used (./model-output.ts).

const MAX_EXPANSIONS = 2;
/** Replies a step may get when they are unusable even after cleaning: the first and two more samples. */
const UNUSABLE_TRIES = 3;
/** A step that reads the sources leaves at least half of the context to them. */
const REPLY_SHARE_WITH_SOURCES = 0.5;

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

/** The outline, its headings and points cleaned; throws when no section is left. */
function parseOutline(content: string): Outline {
  const raw = outlineSchema.parse(replyJson(content));
  const sections = raw.sections
    .map((s) => ({
      heading: cleanOutlineHeading(s.heading) ?? '',
      points: s.points.map((p) => cleanLine(p)).filter((p): p is string => p !== null),
      sources: s.sources,
    }))
    .filter((s) => s.heading);
  if (sections.length === 0) throw new Error('the outline has no section with a usable heading');
  const title = cleanLine(raw.title, { title: true });
  if (!title) throw new Error('the outline has no usable title');
  const keyTakeaways = raw.keyTakeaways.map((t) => cleanLine(t)).filter((t): t is string => t !== null);
  return { title, sections, keyTakeaways };
}

type Metadata = {
  title: string | null;
  metaTitle: string | null;
  metaDescription: string | null;
  slug: string | null;
  tags: string[];
  category: string | null;
  heroImage: { prompt: string; alt: string } | null;
};

/** The metadata, each field cleaned; a field nothing is left of is null, and the post derives it instead. */
function parseMetadata(content: string, lang: string): Metadata {
  const raw = metadataSchema.parse(replyJson(content));
  const prompt = cleanLine(raw.heroImagePrompt);
  const alt = cleanLine(raw.heroImageAlt);
  return {
    title: cleanLine(raw.title, { title: true }),
    metaTitle: cleanLine(raw.metaTitle, { title: true }),
    metaDescription: cleanLine(raw.metaDescription),
    slug: cleanLine(raw.slug),
    tags: cleanTags(raw.tags, lang),
    category: cleanLine(raw.category, { title: true }),
    heroImage: prompt && alt ? { prompt, alt } : null,
  };
}

/** The draft cleaned; throws when it still cannot be a post. */
function parseDraft(content: string): string {
  const body = cleanDraft(content);
  const problem = draftProblem(body);
  if (problem) throw new Error(problem);
  return body;
}

function system(brief: Brief): ChatMessage {
  const lines = [
    'You write blog posts strictly from the numbered sources you are given.',
    'Every number, date, quotation and name you write must appear in the sources. Never add facts of your own.',
    'After each sentence that uses a source, cite it with its number in square brackets, e.g. [2].',
    `Write in ${language(brief.language).name} (the language with the tag "${brief.language}"), ` +
      `whatever the sources' language.`,
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

function draftTokens(brief: Brief, limits: ModelLimits): number {
  // About 1.4 tokens a word, with room for markers and headings.
  return Math.min(limits.draftTokens, Math.ceil(brief.maxWords * 1.6) + 400);
}

type WriterContext = {
  gateway: Gateway;
  scope: CallScope;
  sources: SourceDoc[];
  keywords: string[];
  limits: ModelLimits;
  temperature: number;
};

type StepSpec<T> = {
  step: LlmStep;
  /** The limit in LLM_MODEL_LIMITS that bounds its reply, named in errors. */
  limit: 'outlineTokens' | 'draftTokens' | 'metadataTokens';
  /** Reply tokens wanted; a retry after a cut-off asks for half as many again, up to `ceiling`. */
  maxTokens: number;
  ceiling: number;
  /** The prompt, given the characters its sources (or other material) may take; 0 for none. */
  prompt: (room: number) => ChatMessage[];
  /** Whether the prompt's material is the sources, which must then keep most of the context. */
  readsSources: boolean;
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  /** The reply as the step's result; throws when it is unusable. */
  parse: (content: string) => T;
};

/**
 * One step: the prompt fitted to the model's context, the call, and another try where one helps: a reply cut
 * off at its token limit is asked for once more with half as many tokens again and another sample (seed and
 * temperature); a prompt the endpoint refuses as too long, once more with less of the sources; a reply unusable
 * even after cleaning, with other samples, UNUSABLE_TRIES in all.
 */
async function runStep<T>(w: WriterContext, spec: StepSpec<T>): Promise<T> {
  const { limits } = w;
  const model = w.gateway.provider.model;
  const setting = (field: keyof ModelLimits) => `${field} for "${model}" in LLM_MODEL_LIMITS (now ${limits[field]})`;
  // After the endpoint refused a prompt as too long, the sources keep to a share of what the count allows.
  let share = 1;
  // The reply's tokens: what the step wants, within what the context leaves (half of it, beside sources).
  const fitTo = (wanted: number) => {
    const byContext = Math.min(
      spec.readsSources ? Math.floor(limits.contextTokens * REPLY_SHARE_WITH_SOURCES) : Infinity,
      replyRoom(limits.contextTokens, spec.prompt(0)),
    );
    const maxTokens = Math.min(wanted, byContext);
    const bound: 'setting' | 'context' | 'step' =
      maxTokens === byContext && byContext < wanted ? 'context' : maxTokens >= spec.ceiling ? 'setting' : 'step';
    return { maxTokens, bound, room: Math.floor(sourceRoom(limits.contextTokens, maxTokens, spec.prompt(0)) * share) };
  };
  let { maxTokens, bound, room } = fitTo(spec.maxTokens);
  const firstLimit = maxTokens;
  let sample = 0;
  const tries = { cutOff: 0, overflow: 0, unusable: 0 };
  for (;;) {
    if (spec.readsSources && room < MIN_SOURCE_CHARS)
      throw new ContextTooSmallError(
        `the ${spec.step} step leaves ${room} characters of the model's context ` +
          `for the sources beside a reply of ${maxTokens} tokens; raise ${setting('contextTokens')} ` +
          `to the server's context, or lower ${setting(spec.limit)}`,
      );
    const request = {
      step: spec.step,
      messages: spec.prompt(room),
      maxTokens,
      temperature: sample ? Math.min(1, w.temperature + 0.2 * sample) : w.temperature,
      ...(sample ? { seed: sample } : {}),
      ...(spec.jsonSchema ? { jsonSchema: spec.jsonSchema } : {}),
    };
    try {
      const reply = await w.gateway.chat(request, w.scope, (content) => void spec.parse(content));
      return spec.parse(reply.content);
    } catch (err) {
      if (err instanceof LlmTruncatedError) {
        if (tries.cutOff++ === 0) {
          ({ maxTokens, bound, room } = fitTo(Math.min(spec.ceiling, Math.ceil(maxTokens * 1.5))));
          sample++;
          continue;
        }
        const fix = {
          setting: `raise ${setting(spec.limit)}`,
          context: `raise ${setting('contextTokens')} to the server's context`,
          step: 'the replies ran past what the step asks for, as a model that repeats itself does',
        }[bound];
        throw new LlmTruncatedError(
          `the ${spec.step} step was cut off at its token limit twice, at ${firstLimit} ` +
            `and then ${maxTokens} tokens (finish_reason "length"); ${fix}`,
        );
      }
      if (err instanceof LlmContextOverflowError) {
        if (tries.overflow++ === 0 && room > 0) {
          share = 0.6;
          ({ maxTokens, bound, room } = fitTo(maxTokens));
          continue;
        }
        throw new LlmContextOverflowError(
          `${err.message}; set ${setting('contextTokens')} to the server's context ` +
            `(llama.cpp --ctx-size, Ollama num_ctx)`,
        );
      }
      if (err instanceof LlmUnusableReplyError) {
        if (++tries.unusable < UNUSABLE_TRIES) {
          sample++;
          continue;
        }
        throw new LlmUnusableReplyError(
          `the ${spec.step} step's replies were unusable after ${UNUSABLE_TRIES} tries: ${err.message}`,
        );
      }
      throw err;
    }
  }
}

export async function writeWithModel(
  gateway: Gateway,
  scope: CallScope,
  input: { sources: SourceDoc[]; brief: Brief; temperature: number; limits: ModelLimits },
): Promise<GeneratedPost> {
  const { sources, brief, limits } = input;
  const w: WriterContext = {
    gateway,
    scope,
    sources,
    keywords: briefKeywords(brief),
    limits,
    temperature: input.temperature,
  };
  // Every step is told the post's language again beside its task, where a small model looks.
  const inLanguage = `Write it in ${language(brief.language).name}.`;
  const labels = sectionLabels(brief.language);
  const base = [system(brief)];
  // A prompt of the sources (as many as `room` allows) and a task after them.
  const fromSources =
    (task: string) =>
    (room: number): ChatMessage[] => [
      ...base,
      { role: 'user', content: `Sources:\n\n${room > 0 ? fitSources(sources, room, w.keywords) : ''}\n\n${task}` },
    ];

  const outline = await runStep(w, {
    step: 'outline',
    limit: 'outlineTokens',
    maxTokens: limits.outlineTokens,
    ceiling: limits.outlineTokens,
    readsSources: true,
    prompt: fromSources(
      `Plan a blog post of ${brief.minWords}–${brief.maxWords} words from these ` +
        `sources. Give a title of at most 60 characters, two to six sections (a ` +
        `heading, the points it makes and the numbers of the sources it draws on) ` +
        `and three to five key takeaways. ${inLanguage}`,
    ),
    jsonSchema: { name: 'outline', schema: outlineJsonSchema },
    parse: parseOutline,
  });

  // The draft and its expansions: Markdown, as long as the brief asks, within draftTokens.
  const markdownStep = {
    limit: 'draftTokens',
    maxTokens: draftTokens(brief, limits),
    ceiling: limits.draftTokens,
    readsSources: true,
    parse: parseDraft,
  } as const;
  let body = await runStep(w, {
    ...markdownStep,
    step: 'draft',
    prompt: fromSources(
      `Outline (JSON):\n${JSON.stringify(outline)}\n\nWrite the post in Markdown ` +
        `from this outline: an introduction, one "## " section per outline section, ` +
        `a "## ${labels.takeaways}" list and a short conclusion. No H1 and no list ` +
        `of sources (it is added for you). Between ${brief.minWords} and ${brief.maxWords} ` +
        `words. Cite every factual sentence. ${inLanguage}`,
    ),
  });

  for (let i = 0; i < MAX_EXPANSIONS && countWords(readableBody(body)) < brief.minWords; i++) {
    const draft = body;
    body = await runStep(w, {
      ...markdownStep,
      step: 'expansion',
      prompt: fromSources(
        `Draft:\n\n${draft}\n\nThe draft has ${countWords(readableBody(draft))} ` +
          `words; it needs at least ${brief.minWords}. Expand it with more detail ` +
          `from the sources only, keeping its headings, citations and Markdown. Return ` +
          `the whole post. ${inLanguage}`,
      ),
    });
  }

  const meta = await runStep(w, {
    step: 'metadata',
    limit: 'metadataTokens',
    maxTokens: limits.metadataTokens,
    ceiling: limits.metadataTokens,
    readsSources: false,
    // A post longer than the context leaves is read from its start.
    prompt: (room) => [
      ...base,
      {
        role: 'user',
        content:
          `Post:\n\n${room > 0 ? body.slice(0, room) : ''}\n\nGive its SEO metadata: ` +
          `title (at most 60 characters), metaTitle (45–60 characters), metaDescription ` +
          `(140–160 characters), slug (lowercase letters, digits and hyphens), up ` +
          `to 10 tags, one category, a prompt for a hero image and the image's alt ` +
          `text. ${inLanguage}`,
      },
    ],
    jsonSchema: { name: 'metadata', schema: metadataJsonSchema },
    parse: (content) => parseMetadata(content, brief.language),
  });

  const { markdown, citations } = attachSources(body, sources, brief.language);
  return finalizePost({
    title: meta.title ?? outline.title,
    markdown,
    metaTitle: meta.metaTitle,
    metaDescription: meta.metaDescription,
    slug: meta.slug,
    tags: [...briefKeywords(brief), ...meta.tags],
    category: meta.category,
    heroImage: meta.heroImage,
    citations,
    brief,
    writer: `${gateway.provider.name}/${gateway.provider.model}`,
    leadSentences: leadSentences(body, brief.language),
  });
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
