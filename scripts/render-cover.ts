// Draws a generated cover (src/publish/images.ts) to a PNG file: the README's example.
// node scripts/render-cover.ts "<title>" "<site title>" docs/covers/generated-cover.png
import { writeFileSync } from 'node:fs';
import { renderCover } from '../src/publish/images.ts';

const [title = 'Untitled', siteTitle = 'Blog', out = 'cover.png'] = process.argv.slice(2);
const started = performance.now();
const cover = await renderCover(title, siteTitle);
const ms = performance.now() - started;
writeFileSync(out, cover.data);
console.log(
  `${out}: ${cover.width}×${cover.height} PNG, ${cover.data.length} bytes, ` +
    `drawn in ${ms.toFixed(0)} ms; alt: ${cover.alt}`,
);
