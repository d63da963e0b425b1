import { z } from 'zod';
import { language, sourcesLanguage } from '../text/language.ts';

// The writing brief: who the post is for and what it must contain. A tenant sets defaults
// (tenant settings `brief`), a submission may override any field (`brief` in its body).

const shortText = (max: number) => z.string().trim().min(1).max(max);

export const briefSchema = z
  .object({
    brandVoice: shortText(500).optional(),
    audience: shortText(500).optional(),
    /** A BCP 47 language tag such as `en` or `en-GB`. */
    language: z
      .string()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a language tag such as en or en-GB')
      .optional(),
    minWords: z.number().int().min(50).max(20_000).optional(),
    maxWords: z.number().int().min(50).max(20_000).optional(),
    primaryKeyword: shortText(100).optional(),
    secondaryKeywords: z.array(shortText(100)).max(10).optional(),
  })
  .strict()
  .refine((b) => b.minWords === undefined || b.maxWords === undefined || b.minWords <= b.maxWords, {
    message: 'must not be below minWords',
    path: ['maxWords'],
  });

export type BriefInput = z.infer<typeof briefSchema>;

export type Brief = {
  brandVoice: string | null;
  audience: string | null;
  language: string;
  minWords: number;
  maxWords: number;
  primaryKeyword: string | null;
  secondaryKeywords: string[];
};

export const defaultBrief: Brief = {
  brandVoice: null,
  audience: null,
  language: 'en',
  minWords: 300,
  maxWords: 2500,
  primaryKeyword: null,
  secondaryKeywords: [],
};

/** Submission fields win over the tenant's, which win over the defaults. */
export function resolveBrief(tenant: BriefInput | undefined, submission: BriefInput | undefined): Brief {
  const merged = { ...defaultBrief, ...stripUndefined(tenant ?? {}), ...stripUndefined(submission ?? {}) };
  // A submission's minimum above the tenant's maximum (or the reverse) moves the other bound.
  if (merged.minWords > merged.maxWords) {
    if (submission?.minWords !== undefined) merged.maxWords = merged.minWords;
    else merged.minWords = merged.maxWords;
  }
  return merged;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The brief's keywords, primary first. */
export function briefKeywords(brief: Brief): string[] {
  return [...(brief.primaryKeyword ? [brief.primaryKeyword] : []), ...brief.secondaryKeywords];
}

/** The language a post is written in, and how it was decided. */
export type PostLanguage = {
  /** BCP 47 tag, canonical. */
  tag: string;
  name: string;
  /** Whether the text rules (sentences, context, stop words, figures, readability) know the language. */
  supported: boolean;
  from: 'brief' | 'sources' | 'default';
  /** What the post went without, said on the post. */
  notes: string[];
};

/**
 * The post's language. A model writes in the brief's language when the brief (tenant's or submission's) names one,
 * else in the sources'. The offline writer copies sentences, so it writes in the sources' language whatever the
 * brief asks, and says so. Sources' language: what their text reads as, else what the page declared. A language
 * without text rules is accepted, and the post says which rules it went without.
 */
export function decideLanguage(input: {
  /** The language the tenant's or the submission's brief names, if any. */
  requested: string | null;
  sources: { text: string; declared?: string | null }[];
  writer: 'local' | 'model';
}): PostLanguage {
  const fromSources = sourcesLanguage(input.sources);
  const requested = input.requested ? language(input.requested) : null;
  const notes: string[] = [];
  let tag: string;
  let from: PostLanguage['from'];
  if (input.writer === 'model' && requested) [tag, from] = [requested.tag, 'brief'];
  else if (fromSources) [tag, from] = [fromSources, 'sources'];
  else if (requested) [tag, from] = [requested.tag, 'brief'];
  else [tag, from] = ['en', 'default'];
  const chosen = language(tag);
  if (input.writer === 'local' && requested && fromSources && requested.code !== chosen.code)
    notes.push(
      `the brief asks for ${requested.name} (${requested.tag}); the offline writer ` +
        `copies the sources' sentences, so the post is in ${chosen.name} (${chosen.tag})`,
    );
  if (from === 'default') notes.push("the sources' language could not be told; the post is treated as English");
  if (!chosen.supported)
    notes.push(
      `${chosen.name} (${chosen.tag}) has no text rules here: sentences are split ` +
        `by Unicode's rules only, with no context words, ` +
        `${input.writer === 'local' ? 'English section headings, ' : ''}no ` +
        `readability formula and no local number or date formats`,
    );
  return { tag: chosen.tag, name: chosen.name, supported: chosen.supported !== null, from, notes };
}
