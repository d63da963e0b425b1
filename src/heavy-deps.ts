import { createRequire } from 'node:module';
import type * as Readability from '@mozilla/readability';
import type * as Qdrant from '@qdrant/js-client-rest';
import type * as Feedsmith from 'feedsmith';
import type * as Franc from 'franc-min';
import type * as Linkedom from 'linkedom';
import type OpenAIClass from 'openai';
import type sanitizeHtml from 'sanitize-html';
import type * as Snowball from 'snowball-stemmers';
import type * as Undici from 'undici';
import type * as Yaml from 'yaml';

// Libraries that only some roles use, loaded by their first use rather than at start-up: an API process parses no
// pages and writes no feeds, a scheduler calls no model. Each adds 4 to 31 MiB to a process that loads it (resident
// memory after importing it alone: linkedom 28, openai 31, Qdrant's client 30, undici 28, feedsmith 19,
// sanitize-html 17, yaml 13, snowball-stemmers 8, franc-min 7, Readability 4). Node 24 loads ES modules by require()
// too, so the loaders stay synchronous and
// every caller gets the same copy of a library (its error classes compare with instanceof).

const require = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();

function lazy<T>(name: string): () => T {
  return () => {
    let mod = loaded.get(name) as T | undefined;
    if (mod === undefined) {
      mod = require(name) as T;
      loaded.set(name, mod);
    }
    return mod;
  };
}

/** HTML and XML parsing for ingest (pages, sitemaps) and the static site's checks. */
export const linkedom = lazy<typeof Linkedom>('linkedom');
/** The article finder of ingest. */
export const readability = lazy<typeof Readability>('@mozilla/readability');
/** The OpenAI SDK: model calls, embeddings, endpoint checks. */
export const openai = lazy<typeof OpenAIClass>('openai');
/** The Qdrant client, only when VECTOR_INDEX is qdrant. */
export const qdrant = lazy<typeof Qdrant>('@qdrant/js-client-rest');
/** HTML sanitising: rendering a post (generate, an editor's change, publish). */
export const sanitize = lazy<typeof sanitizeHtml>('sanitize-html');
/** Feed parsing (ingest, feed registration) and the static site's Atom feed. */
export const feedsmith = lazy<typeof Feedsmith>('feedsmith');

/** undici's fetch and Agent: outbound requests with pinned addresses (ingest, publishing) and model calls. */
export const undici = lazy<typeof Undici>('undici');
/** YAML front matter of the static site's Markdown files. */
export const yaml = lazy<typeof Yaml>('yaml');

/** Language detection (ingest, generate, an editor's change). */
export const franc = lazy<typeof Franc>('franc-min');
/** Stemmers for keywords and the offline writer. */
export const snowball = lazy<typeof Snowball>('snowball-stemmers');

/** Which of these this process has loaded (tests and the memory benchmark look). */
export function loadedHeavyDeps(): string[] {
  return [...loaded.keys()];
}
