#!/usr/bin/env node
// Blog Poster runs its TypeScript sources directly with Node 24's built-in type stripping.
import module from 'node:module';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `blog-poster needs Node.js 24 or newer (this is ${process.version}). Run ` +
      `it through npm (npm run …) or npx, which use the project's own node@24.`,
  );
  process.exit(1);
}
// Node's compile cache (NODE_COMPILE_CACHE, else a folder in the temporary directory) keeps every module stripped of
// its types and compiled: a process that finds all of its modules there never loads the type stripper, which stays
// resident for the life of the process (21 MiB), and starts sooner. The Docker image fills it when it is built
// (scripts/warm-compile-cache.ts); elsewhere the first start of each role fills it.
module.enableCompileCache();
await import('./main.ts');
