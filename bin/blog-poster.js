#!/usr/bin/env node
// Blog Poster runs its TypeScript sources directly with Node 24's built-in type stripping.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `blog-poster needs Node.js 24 or newer (this is ${process.version}). Run ` +
      `it through npm (npm run …) or npx, which use the project's own node@24.`,
  );
  process.exit(1);
}
await import('./main.ts');
