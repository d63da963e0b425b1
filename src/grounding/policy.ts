import { z } from 'zod';

/**
 * A tenant's content policy (tenant settings `grounding`). Banned claims are phrases (matched
 * case-insensitively) or `/regular expressions/flags`; a disclaimer is appended when any of its
 * keywords appears in the post.
 */
export const groundingPolicySchema = z
  .object({
    bannedClaims: z
      .array(z.string().trim().min(1).max(500).refine(compiles, 'is not a valid /regular expression/'))
      .max(200)
      .default([]),
    disclaimers: z
      .array(
        z
          .object({
            keywords: z.array(z.string().trim().min(1).max(100)).min(1).max(50),
            text: z.string().trim().min(1).max(2000),
          })
          .strict(),
      )
      .max(50)
      .default([]),
    /** Distinct sources the post must cite. */
    minCitations: z.number().int().min(0).max(50).default(1),
    /** Names and terms the post may use without a source (the brand, product names). */
    allowedTerms: z.array(z.string().trim().min(1).max(200)).max(500).default([]),
  })
  .strip();

export type GroundingPolicy = z.infer<typeof groundingPolicySchema>;

export const defaultGroundingPolicy: GroundingPolicy = groundingPolicySchema.parse({});

function compiles(claim: string): boolean {
  const regex = /^\/(.+)\/([a-z]*)$/s.exec(claim);
  if (!regex) return true;
  try {
    new RegExp(regex[1]!, regex[2]);
    return true;
  } catch {
    return false;
  }
}

/** A banned claim as a matcher: `/…/flags` is a regular expression, anything else a phrase. */
export function bannedMatcher(claim: string): (text: string) => boolean {
  const regex = /^\/(.+)\/([a-z]*)$/s.exec(claim);
  if (regex) {
    try {
      // Stateless (no g or y) and case-insensitive, like phrases.
      const flags = [...new Set(`${regex[2]!.replace(/[gy]/g, '')}i`)].join('');
      const re = new RegExp(regex[1]!, flags);
      return (text) => re.test(text);
    } catch {
      // An invalid pattern is matched literally rather than dropped, so the policy still bites.
    }
  }
  const phrase = claim.toLowerCase().replace(/\s+/g, ' ');
  return (text) => text.toLowerCase().replace(/\s+/g, ' ').includes(phrase);
}
