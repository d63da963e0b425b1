// An indexed (palette) PNG of opaque RGBA pixels that use at most 256 colours, as a cover does: its text is
// anti-aliased between a few flat colours, a few dozen in all. One byte a pixel, rows unfiltered, deflated by zlib's
// run-length strategy: on a cover a fifth of the time resvg takes to write its RGBA PNG, and half the bytes.
// (fast-png writes palettes too, but its JavaScript deflate took longer than resvg's whole encoding.)
import { constants, crc32, deflateSync } from 'node:zlib';

let rowsBuffer = Buffer.alloc(0);
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * The PNG of `rgba` (width × height pixels, 4 bytes each, straight alpha) with a palette, or null when a pixel is not
 * opaque or there are more than 256 colours: the caller writes it another way.
 */
export function indexedPng(rgba: Uint8Array, width: number, height: number): Buffer | null {
  if (rgba.byteLength !== width * height * 4 || rgba.byteOffset % 4 !== 0) return null;
  // A pixel as one int32 (little-endian: alpha in the top byte, so an opaque one is negative and a small integer
  // for V8, which keeps the loop on integers).
  const pixels = new Int32Array(rgba.buffer, rgba.byteOffset, width * height);
  const index = new Map<number, number>();
  // Each row is its filter byte (0, none) and one palette index a pixel. One buffer for every image of the same
  // size: a new one each time is freed only when V8 gets round to it.
  const size = (width + 1) * height;
  if (rowsBuffer.length !== size) rowsBuffer = Buffer.allocUnsafe(size);
  const rows = rowsBuffer;
  let out = 0;
  // Unlike the first pixel, so that it is looked up; after that, a pixel is looked up only when its colour changes.
  let last = ~pixels[0]!;
  let lastIndex = 0;
  const bytes = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  const rowBytes = width * 4;
  for (let y = 0; y < height; y++) {
    // Most of a cover's rows are the same as the one above (margins, the gaps between lines): copied whole.
    if (y > 0 && bytes.compare(bytes, (y - 1) * rowBytes, y * rowBytes, y * rowBytes, (y + 1) * rowBytes) === 0) {
      rows.copyWithin(out, out - width - 1, out);
      out += width + 1;
      continue;
    }
    rows[out++] = 0;
    for (let p = y * width, end = p + width; p < end; p++) {
      const colour = pixels[p]!;
      if (colour !== last) {
        let i = index.get(colour);
        if (i === undefined) {
          if (index.size === 256 || colour >>> 24 !== 0xff) return null;
          i = index.size;
          index.set(colour, i);
        }
        last = colour;
        lastIndex = i;
      }
      rows[out++] = lastIndex;
    }
  }
  const palette = Buffer.allocUnsafe(index.size * 3);
  for (const [colour, i] of index) {
    palette[i * 3] = colour & 0xff;
    palette[i * 3 + 1] = (colour >>> 8) & 0xff;
    palette[i * 3 + 2] = (colour >>> 16) & 0xff;
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per index
  header[9] = 3; // colour type: palette
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('PLTE', palette),
    chunk('IDAT', deflateSync(rows, { strategy: constants.Z_RLE })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
