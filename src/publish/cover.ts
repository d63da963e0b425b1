// The generated cover: the title large and bold, white on a dark blue field (contrast 15:1), the site's name under
// a rule. It runs on the cover thread (./cover-thread.ts). HarfBuzz shapes the text with the shipped fonts, so lines
// are broken on the real widths; the SVG carries the glyphs' outlines rather than text, so resvg reads no font file
// per cover (a quarter of its time with text). resvg draws it as WebAssembly, whose objects are freed the moment a
// cover is done: the native build's were freed by the garbage collector, whenever it got round to them, and taking a
// cover's pixels from it made a thread's memory grow by 24 to 71 MiB over 300 covers.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initWasm, Resvg } from '@resvg/resvg-wasm';
import * as hb from 'harfbuzzjs';
import { plainLine } from '../text/plain-text.ts';
import { indexedPng } from './png.ts';

await initWasm(readFileSync(createRequire(import.meta.url).resolve('@resvg/resvg-wasm/index_bg.wasm')));

export const COVER_SIZE = { width: 1200, height: 630 };
const MARGIN = 88;
const MAX_OUTLINES = 1_000;

type Face = { font: hb.Font; upem: number; outlines: Map<number, string> };

function loadFace(file: string): Face {
  const face = new hb.Face(new hb.Blob(readFileSync(new URL(`./fonts/${file}`, import.meta.url))));
  return { font: new hb.Font(face), upem: face.upem, outlines: new Map() };
}

let faces: { bold: Face; regular: Face } | null = null;
const loaded = () => (faces ??= { bold: loadFace('DejaVuSans-Bold.ttf'), regular: loadFace('DejaVuSans.ttf') });

type Glyph = { id: number; x: number; y: number };

// One buffer, emptied before each use: a buffer per shaping was freed only after a full collection, and the wasm
// memory they took (tens of MiB over a few hundred covers) is never given back.
let shaping: hb.Buffer | null = null;

function shape(face: Face, text: string): { glyphs: Glyph[]; advance: number } {
  shaping ??= new hb.Buffer();
  const buffer = shaping;
  buffer.reset();
  buffer.addText(text);
  buffer.guessSegmentProperties();
  hb.shape(face.font, buffer);
  const positions = buffer.getGlyphPositions();
  const glyphs: Glyph[] = [];
  let pen = 0;
  for (const [i, info] of buffer.getGlyphInfos().entries()) {
    const p = positions[i]!;
    glyphs.push({ id: info.codepoint, x: pen + p.xOffset, y: p.yOffset });
    pen += p.xAdvance;
  }
  return { glyphs, advance: pen };
}

/** Width of a line of text in px at `size`. */
function widthOf(face: Face, text: string, size: number): number {
  return (shape(face, text).advance * size) / face.upem;
}

/** One line's glyph outlines, the baseline's start at (x, y). */
function outlines(face: Face, text: string, x: number, y: number, size: number, fill: string): string {
  const scale = size / face.upem;
  const paths: string[] = [];
  for (const g of shape(face, text).glyphs) {
    let d = face.outlines.get(g.id);
    if (d === undefined) {
      d = face.font.glyphToPath(g.id);
      // The thread's heap is small and a font has thousands of glyphs (2 MiB of outlines): keep the common ones.
      if (face.outlines.size >= MAX_OUTLINES) face.outlines.clear();
      face.outlines.set(g.id, d);
    }
    // A space has no outline. Font units point up; SVG's y points down.
    if (d)
      paths.push(
        `<path transform="translate(${(x + g.x * scale).toFixed(2)} ${(y - g.y * scale).toFixed(2)}) scale(${scale.toFixed(6)} ${(-scale).toFixed(6)})" d="${d}"/>`,
      );
  }
  return `<g fill="${fill}">${paths.join('')}</g>`;
}

/**
 * Words into at most `maxLines` lines no wider than `maxWidth`; a word too long for a line is cut with a hyphen, and
 * the last line ends in … when the title does not fit. Lines are balanced, like CSS's `text-wrap: balance`: as many
 * as greedy filling needs, their widths as even as they can be, so the title does not end on a lone word.
 */
export function wrapTitle(
  title: string,
  maxLines: number,
  width: (line: string) => number,
  maxWidth: number,
): { lines: string[]; fits: boolean } {
  // Filling, then balancing, measure the same words and lines again: each is shaped once.
  const measured = new Map<string, number>();
  const measure = (line: string): number => {
    let w = measured.get(line);
    if (w === undefined) {
      w = width(line);
      measured.set(line, w);
    }
    return w;
  };
  const fits = (line: string) => measure(line) <= maxWidth;
  const words = title.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  let split = false;
  for (let w of words) {
    while (!fits(w) && w.length > 1) {
      split = true;
      let cut = w.length - 1;
      while (cut > 1 && !fits(`${w.slice(0, cut)}-`)) cut--;
      if (line) lines.push(line);
      lines.push(`${w.slice(0, cut)}-`);
      line = '';
      w = w.slice(cut);
    }
    const next = line ? `${line} ${w}` : w;
    if (fits(next)) line = next;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line) lines.push(line);
  if (lines.length <= maxLines)
    return { lines: (!split && balanced(words, lines.length, measure, maxWidth)) || lines, fits: true };
  const kept = lines.slice(0, maxLines);
  let last = kept[maxLines - 1]!;
  while (last.length > 1 && !fits(`${last}…`)) last = last.slice(0, -1).trimEnd();
  kept[maxLines - 1] = `${last}…`;
  return { lines: kept, fits: false };
}

// A short last line reads as the end of the title; a short line in the middle reads as a gap in it.
const LAST_LINE_WEIGHT = 0.5;

/**
 * `words` in `count` lines whose widths differ least (the least sum of squared room left on each line, the last
 * line's counting half), or null when no such lines fit. A line's width is taken as its words' widths and its
 * spaces', so each word is shaped once; the lines chosen are then measured whole.
 */
function balanced(words: string[], count: number, width: (line: string) => number, maxWidth: number): string[] | null {
  if (count < 2) return null;
  const n = words.length;
  const space = width(' ');
  const ends = [0];
  for (const w of words) ends.push(ends.at(-1)! + width(w));
  const lineWidth = (from: number, to: number) => ends[to]! - ends[from]! + (to - from - 1) * space;
  // cost[j][i]: the least cost of the first i words in j lines; from[j][i]: where the last of those lines starts.
  const cost = Array.from({ length: count + 1 }, () => new Array<number>(n + 1).fill(Infinity));
  const from = Array.from({ length: count + 1 }, () => new Array<number>(n + 1).fill(0));
  cost[0]![0] = 0;
  for (let j = 1; j <= count; j++)
    for (let i = j; i <= n; i++)
      for (let a = j - 1; a < i; a++) {
        const room = maxWidth - lineWidth(a, i);
        if (room < 0) continue;
        const c = cost[j - 1]![a]! + (i === n ? room * room * LAST_LINE_WEIGHT : room * room);
        if (c < cost[j]![i]!) {
          cost[j]![i] = c;
          from[j]![i] = a;
        }
      }
  if (cost[count]![n] === Infinity) return null;
  const lines: string[] = [];
  for (let j = count, i = n; j > 0; i = from[j]![i]!, j--) lines.unshift(words.slice(from[j]![i]!, i).join(' '));
  return lines.every((l) => width(l) <= maxWidth) ? lines : null;
}

/** The cover's SVG: outlines only, so no text of the title or the site's name is in it as text. */
export function coverSvg(rawTitle: string, rawSiteTitle: string): string {
  const { bold, regular } = loaded();
  const title = plainLine(rawTitle).trim() || 'Untitled';
  const siteTitle = plainLine(rawSiteTitle).trim().slice(0, 60);
  const { width, height } = COVER_SIZE;
  const maxWidth = width - 2 * MARGIN;
  // The largest size that fits in four lines, 72 px down to 44 px.
  let size = 72;
  const wrap = () => wrapTitle(title, 4, (line) => widthOf(bold, line, size), maxWidth);
  let wrapped = wrap();
  while (!wrapped.fits && size > 44) {
    size -= 4;
    wrapped = wrap();
  }
  const lineHeight = Math.round(size * 1.18);
  const blockTop = Math.round((height - 110 - wrapped.lines.length * lineHeight) / 2) + 20;
  const titleLines = wrapped.lines
    .map((line, i) => outlines(bold, line, MARGIN, blockTop + size + i * lineHeight, size, '#ffffff'))
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="${width}" height="${height}" fill="#0e2849"/>
<rect x="${MARGIN}" y="${MARGIN - 24}" width="96" height="8" rx="4" fill="#f5b83d"/>
${titleLines}
<rect x="${MARGIN}" y="${height - 104}" width="${maxWidth}" height="2" fill="#3d5f8c"/>
${outlines(regular, siteTitle, MARGIN, height - 56, 28, '#d6e2f2')}
</svg>`;
}

/** The cover as PNG bytes: the same bytes for the same title and site on every machine. */
export function drawCover(title: string, siteTitle: string): Uint8Array {
  const svg = new Resvg(coverSvg(title, siteTitle), { fitTo: { mode: 'original' } });
  const image = svg.render();
  let pixels: Uint8Array | undefined;
  try {
    pixels = image.pixels;
    // A cover's few dozen colours fit a palette (./png.ts); resvg's own RGBA PNG is the way for anything else.
    return indexedPng(pixels, image.width, image.height) ?? image.asPng();
  } finally {
    // The pixels are a 3 MB copy that V8 counts as external memory: on the cover thread's small heap, every third
    // cover forced a full, memory-reducing collection (about 15 ms) to reclaim them. Detached, they are freed now.
    (pixels?.buffer as ArrayBuffer | undefined)?.transfer(0);
    image.free();
    svg.free();
  }
}
