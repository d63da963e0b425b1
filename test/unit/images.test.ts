import { createRequire } from 'node:module';
import type * as ResvgModule from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { COVER_SIZE, coverSvg, drawCover, wrapTitle } from '../../src/publish/cover.ts';
import { imageInfo, renderCover } from '../../src/publish/images.ts';

const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof ResvgModule;
const noFonts = { font: { loadSystemFonts: false }, fitTo: { mode: 'original' as const } };
/** Pixels as resvg draws an SVG, RGBA. */
const pixelsOf = (svg: string) => new Resvg(svg, noFonts).render().pixels;
/** A PNG's pixels as resvg decodes it, drawn 1:1. */
const decode = (png: Uint8Array, width: number, height: number) =>
  pixelsOf(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><image width="${width}" height="${height}" href="data:image/png;base64,${Buffer.from(png).toString('base64')}"/></svg>`,
  );

const u16be = (n: number) => [n >> 8, n & 255];
const u16le = (n: number) => [n & 255, n >> 8];
const u24le = (n: number) => [n & 255, (n >> 8) & 255, n >> 16];

describe('image type and size from the bytes', () => {
  it('reads PNG, JPEG (past APP segments), GIF and WebP (VP8X), and nothing else', async () => {
    const png = (await renderCover('A', 'B')).data;
    expect(imageInfo(png)).toEqual({ type: 'image/png', width: 1200, height: 630 });
    const jpeg = Uint8Array.from([
      0xff,
      0xd8,
      0xff,
      0xe0,
      ...u16be(16),
      ...Buffer.from('JFIF\0'),
      1,
      1,
      0,
      0,
      1,
      0,
      1,
      0,
      0,
      0xff,
      0xc2,
      ...u16be(17),
      8,
      ...u16be(480),
      ...u16be(800),
      3,
      1,
      0x11,
      0,
      2,
      0x11,
      1,
      3,
      0x11,
      1,
    ]);
    expect(imageInfo(jpeg)).toEqual({ type: 'image/jpeg', width: 800, height: 480 });
    const gif = Uint8Array.from([...Buffer.from('GIF89a'), ...u16le(320), ...u16le(200), 0, 0, 0]);
    expect(imageInfo(gif)).toEqual({ type: 'image/gif', width: 320, height: 200 });
    const webp = Uint8Array.from([
      ...Buffer.from('RIFF'),
      0,
      0,
      0,
      0,
      ...Buffer.from('WEBPVP8X'),
      10,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...u24le(1919),
      ...u24le(1079),
    ]);
    expect(imageInfo(webp)).toEqual({ type: 'image/webp', width: 1920, height: 1080 });
    expect(imageInfo(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(imageInfo(Buffer.from('<!doctype html><html></html>'))).toBeNull();
  });
});

describe('the generated cover', () => {
  it("gives each cover's pixels back: drawing 60 covers does not keep 3 MiB of each", async () => {
    await renderCover('Warm-up', 'Blog');
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 60; i++) await renderCover(`Field notes ${i}: queues in production`, 'Blog');
    // Kept, they would be 180 MiB; freed, the process grows by a few MiB of allocator slack.
    expect((process.memoryUsage().rss - before) / 2 ** 20).toBeLessThan(64);
  });

  it('frees a cover’s pixel copy as soon as its PNG is written, not at the next garbage collection', () => {
    drawCover('Warm-up', 'Blog');
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 10; i++) drawCover(`Field notes ${i}: queues in production`, 'Blog');
    // Each copy is 1200 × 630 × 4 bytes (3 MiB); what stays is the ten PNGs (tens of KiB each).
    expect((process.memoryUsage().arrayBuffers - before) / 2 ** 20).toBeLessThan(2);
  });

  it('draws the same bytes every time, from the shipped fonts only', async () => {
    const a = await renderCover('Heat pumps in cold climates', 'Energy notes');
    const b = await renderCover('Heat pumps in cold climates', 'Energy notes');
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(a).toMatchObject({
      contentType: 'image/png',
      width: 1200,
      height: 630,
      alt: 'Cover image with the title “Heat pumps in cold climates”',
    });
  });

  it('says what the cover shows in the post language', async () => {
    expect((await renderCover('Wärmepumpen im Winter', 'Blog', 'de')).alt).toBe(
      'Titelbild mit der Überschrift „Wärmepumpen im Winter“',
    );
    expect((await renderCover('Pompes à chaleur', 'Blog', 'fr-FR')).alt).toBe(
      'Image de couverture avec le titre « Pompes à chaleur »',
    );
    expect((await renderCover('Heat', 'Blog', 'pt')).alt).toBe('Cover image with the title “Heat”');
  });

  it('draws the title as outlines: nothing of it is in the SVG as text or markup', () => {
    const svg = coverSvg('</text><script>alert(1)</script> & "quotes"', 'Site <b>');
    expect(svg).not.toMatch(/<script|alert|<text|Site|&amp;|quotes/);
    expect(svg).toContain('<path transform=');
  });

  it('breaks lines on the real widths of the letters, inside the margins, in at most four lines', () => {
    const right = COVER_SIZE.width - 88;
    const whiteBeyondMargin = (svg: string) => {
      const px = pixelsOf(svg);
      let n = 0;
      // The title is white; nothing else on the cover is.
      for (let y = 0; y < COVER_SIZE.height; y++)
        for (let x = right + 1; x < COVER_SIZE.width; x++) if (px[(y * COVER_SIZE.width + x) * 4] === 255) n++;
      return n;
    };
    // Wide letters and narrow ones: a per-character estimate overflows one or wastes the other.
    for (const title of [
      'WWW MMM WWW MMM WWW MMM WWW MMM WWW MMM WWW',
      'illicit little lilies fill tiny idle lilt lists',
    ])
      expect(whiteBeyondMargin(coverSvg(title, 'Blog'))).toBe(0);
    const chars = (l: string) => l.length;
    // As many lines as filling each in turn needs, as even as they can be: never a lone last word.
    const narrow = wrapTitle('il il il il il il il il il il il il', 4, chars, 20);
    expect(narrow).toEqual({ lines: ['il il il il il il', 'il il il il il il'], fits: true });
    expect(wrapTitle('Why queue-first pipelines survive bad days', 4, chars, 21).lines).toEqual([
      'Why queue-first',
      'pipelines survive',
      'bad days',
    ]);
    expect(wrapTitle('Heat pumps', 4, chars, 25).lines).toEqual(['Heat pumps']);
    const long = wrapTitle(Array.from({ length: 60 }, (_, i) => `word${i}`).join(' '), 4, chars, 30);
    expect(long.lines).toHaveLength(4);
    expect(long.fits).toBe(false);
    expect(long.lines[3]).toMatch(/…$/);
    const unbroken = wrapTitle('x'.repeat(200), 4, chars, 30);
    expect(unbroken.lines.every((l) => l.length <= 30)).toBe(true);
    expect(unbroken.lines[0]).toMatch(/-$/);
  });

  it('publishes the PNG of exactly that SVG, drawn on the cover thread', async () => {
    const { width, height } = COVER_SIZE;
    const cover = await renderCover('Heat pumps in cold climates', 'Energy notes');
    expect(imageInfo(cover.data)).toEqual({ type: 'image/png', width, height });
    const drawn = pixelsOf(coverSvg('Heat pumps in cold climates', 'Energy notes'));
    expect(Buffer.from(decode(cover.data, width, height)).equals(drawn)).toBe(true);
    expect(Buffer.from(drawCover('Heat pumps in cold climates', 'Energy notes')).equals(Buffer.from(cover.data))).toBe(
      true,
    );
  });
});
