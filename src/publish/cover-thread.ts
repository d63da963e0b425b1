// The thread that draws covers (./images.ts): resvg's drawing and PNG encoding of 1200×630 pixels take tens of
// milliseconds of CPU a post, which on the main thread held up every other stage's work in the process.
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import type * as ResvgModule from '@resvg/resvg-js';

const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof ResvgModule;

export type CoverRequest = { id: number; svg: string; options: ResvgModule.ResvgRenderOptions };
export type CoverReply = { id: number; png: Uint8Array } | { id: number; error: string };

// resvg's native objects hold each cover's pixels (3 MiB) outside the JavaScript heap, which V8 does not count, so
// it saw no reason to collect their few bytes of wrapper: a worker's resident memory grew by the pixels of every
// cover it drew (730 MiB peak in a burst of 5,000 posts). A young-generation collection after each cover, cheap on
// this thread's 2 MiB young heap, frees them before the next one. (The flag is process-wide: contexts made after it
// see a global `gc`; nothing else here makes contexts.)
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options: { type: 'minor' }) => void;

parentPort?.on('message', ({ id, svg, options }: CoverRequest) => {
  let reply: CoverReply;
  try {
    reply = { id, png: new Uint8Array(new Resvg(svg, options).render().asPng()) };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
  gc({ type: 'minor' });
});
