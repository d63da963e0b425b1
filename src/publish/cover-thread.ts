// The thread that draws covers (./images.ts): resvg's drawing and PNG encoding of 1200×630 pixels take tens of
// milliseconds of CPU a post, which on the main thread held up every other stage's work in the process.
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import type * as ResvgModule from '@resvg/resvg-js';

const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof ResvgModule;

export type CoverRequest = { id: number; svg: string; options: ResvgModule.ResvgRenderOptions };
export type CoverReply = { id: number; png: Uint8Array } | { id: number; error: string };

parentPort?.on('message', ({ id, svg, options }: CoverRequest) => {
  let reply: CoverReply;
  try {
    reply = { id, png: new Uint8Array(new Resvg(svg, options).render().asPng()) };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
