// The thread that draws covers (./cover.ts, for ./images.ts): laying out, drawing and encoding 1200×630 pixels take
// milliseconds of CPU a post, which on the main thread held up every other stage's work in the process.
import { parentPort } from 'node:worker_threads';
import { COVER_SIZE, drawCover } from './cover.ts';

export type CoverRequest = { id: number; title: string; siteTitle: string };
export type CoverImage = { png: Uint8Array; width: number; height: number };
export type CoverReply = ({ id: number } & CoverImage) | { id: number; error: string };

parentPort?.on('message', ({ id, title, siteTitle }: CoverRequest) => {
  let reply: CoverReply;
  try {
    reply = { id, png: drawCover(title, siteTitle), ...COVER_SIZE };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
