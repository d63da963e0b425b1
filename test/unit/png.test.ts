import { createRequire } from 'node:module';
import type * as ResvgModule from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { indexedPng } from '../../src/publish/png.ts';

const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof ResvgModule;

/** A PNG's pixels as resvg (the png crate) decodes it, drawn 1:1: a decoder that is not ours. */
const decode = (png: Uint8Array, width: number, height: number) =>
  new Resvg(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><image width="${width}" height="${height}" href="data:image/png;base64,${Buffer.from(png).toString('base64')}"/></svg>`,
    { font: { loadSystemFonts: false }, fitTo: { mode: 'original' } },
  ).render().pixels;

/** Opaque RGBA pixels; `colour(x, y)` gives [r, g, b]. */
function image(width: number, height: number, colour: (x: number, y: number) => [number, number, number]) {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) rgba.set([...colour(x, y), 255], (y * width + x) * 4);
  return rgba;
}

describe('indexed PNG', () => {
  it('writes the exact pixels with a palette: flat rows, repeated rows and rows that change', () => {
    const width = 37;
    const height = 23;
    // Flat at the top, a band of stripes (each row differs from the one above), then flat again.
    const rgba = image(width, height, (x, y) =>
      y < 5 || y > 15 ? [14, 40, 73] : [((x + y) % 9) * 25, 60, (y % 4) * 60],
    );
    const png = indexedPng(rgba, width, height)!;
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    // IHDR: 8 bits, colour type 3 (palette).
    expect([png[24], png[25]]).toEqual([8, 3]);
    expect(Buffer.from(decode(png, width, height)).equals(Buffer.from(rgba))).toBe(true);
  });

  it('is smaller than the same pixels as RGBA, for a cover-like picture', () => {
    const width = 400;
    const height = 210;
    const rgba = image(width, height, (x, y) =>
      x > 40 && x < 300 && y > 60 && y < 90 && (x ^ y) % 5 ? [255, 255, 255] : [14, 40, 73],
    );
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><image width="${width}" height="${height}" href="data:image/png;base64,${indexedPng(rgba, width, height)!.toString('base64')}"/></svg>`;
    const rgbaPng = new Resvg(svg, { fitTo: { mode: 'original' }, font: { loadSystemFonts: false } }).render().asPng();
    expect(indexedPng(rgba, width, height)!.length).toBeLessThan(rgbaPng.length);
  });

  it('gives up on more than 256 colours and on pixels that are not opaque', () => {
    expect(
      indexedPng(
        image(300, 1, (x) => [x % 256, x >> 8, 0]),
        300,
        1,
      ),
    ).toBeNull();
    expect(
      indexedPng(
        image(256, 1, (x) => [x, 0, 0]),
        256,
        1,
      ),
    ).not.toBeNull();
    const translucent = image(4, 4, () => [1, 2, 3]);
    translucent[7] = 128;
    expect(indexedPng(translucent, 4, 4)).toBeNull();
    // A size that does not match the bytes is not guessed at.
    expect(
      indexedPng(
        image(4, 4, () => [1, 2, 3]),
        5,
        4,
      ),
    ).toBeNull();
  });
});
