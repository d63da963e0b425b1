import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048);

/** A destination's IndexNow settings: off unless `enabled`; the key is also served as `<key>.txt` by the static site. */
export const indexNowSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Where pings go: api.indexnow.org shares them with every participating engine. */
    endpoint: httpUrl.default('https://api.indexnow.org/indexnow'),
    key: z.string().regex(/^[A-Za-z0-9-]{8,128}$/, 'must be 8 to 128 letters, digits or dashes'),
    /** Where the key file is served; the static site's `<baseUrl>/<key>.txt` by default. */
    keyLocation: httpUrl.optional(),
  })
  .strict();
export type IndexNowConfig = z.infer<typeof indexNowSchema>;
