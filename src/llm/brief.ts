import { z } from 'zod';

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
