// The thread that draws covers (./cover.ts, for ./images.ts): laying out, drawing and encoding 1200×630 pixels take
// milliseconds of CPU a post, which on the main thread held up every other stage's work in the process.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import { COVER_SIZE, drawCover } from './cover.ts';

export type CoverRequest = { id: number; title: string; siteTitle: string };
export type CoverImage = { png: Uint8Array; width: number; height: number };
export type CoverReply = ({ id: number } & CoverImage) | { id: number; error: string };

// resvg's native objects hold each cover's pixels (3 MiB) outside the JavaScript heap, which V8 does not count, so
// it saw no reason to collect their few bytes of wrapper: a worker's resident memory grew by the pixels of every
// cover it drew (730 MiB peak in a burst of 5,000 posts). A young-generation collection after each cover, cheap on
// this thread's 2 MiB young heap, frees them before the next one. (The flag is process-wide: contexts made after it
// see a global `gc`; nothing else here makes contexts.)
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options: { type: 'minor' }) => void;

parentPort?.on('message', ({ id, title, siteTitle }: CoverRequest) => {
  let reply: CoverReply;
  try {
    reply = { id, png: drawCover(title, siteTitle), ...COVER_SIZE };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
  gc({ type: 'minor' });
});
