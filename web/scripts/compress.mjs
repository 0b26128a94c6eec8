// Writes .gz and .br next to every text asset of dist/ (the server sends a
// precompressed copy when the client accepts it) and reports the gzip size
// of the JavaScript each page loads when it is the first one opened; fails
// over 250 kB (KiB) for any page.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const compressible = /\.(js|css|html|svg|json|txt|map|woff)$/;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

// The manifest is for the report below only; it is not served.
const manifestPath = join(dist, '.vite', 'manifest.json');
const manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : null;
rmSync(join(dist, '.vite'), { recursive: true, force: true });

const sizes = new Map();
for (const file of walk(dist)) {
  if (!compressible.test(file)) continue;
  const data = readFileSync(file);
  const gz = gzipSync(data, { level: 9 });
  const br = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  writeFileSync(`${file}.gz`, gz);
  writeFileSync(`${file}.br`, br);
  sizes.set('/' + relative(dist, file), { raw: data.length, gz: gz.length, br: br.length });
}

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]);
let total = 0;
for (const f of initial) total += sizes.get(f)?.gz ?? 0;
const kb = (n) => (n / 1024).toFixed(1) + ' kB';
console.log(`initial JS (entry + modulepreload): ${initial.length} files, ${kb(total)} gzip`);
for (const f of initial) console.log(`  ${f}  ${kb(sizes.get(f)?.gz ?? 0)} gzip`);
const css = [...html.matchAll(/href="(\/assets\/[^"]+\.css)"/g)].map((m) => m[1]);
for (const f of css) console.log(`  ${f}  ${kb(sizes.get(f)?.gz ?? 0)} gzip (css)`);
// What each page loads in all when it is the first one opened: the entry,
// the page's chunk and its static imports, and the strings of the language
// (the larger of the two; the alert pages' and the delta page's own
// strings with them). Every
// page must stay within the limit, not only the entry.
const LIMIT = 250 * 1024;
let worst = total;
if (manifest) {
  const closure = (key, seen = new Set()) => {
    if (seen.has(key) || !manifest[key]) return seen;
    seen.add(key);
    for (const dep of manifest[key].imports ?? []) closure(dep, seen);
    return seen;
  };
  const gzOf = (keys) => [...keys].reduce((n, k) => n + (sizes.get('/' + manifest[k].file)?.gz ?? 0), 0);
  const entry = Object.keys(manifest).find((k) => manifest[k].isEntry);
  const pages = Object.keys(manifest).filter((k) => /^src\/pages\/.*Page\.tsx$/.test(k)).sort();
  for (const page of pages) {
    const strings = ['en', 'ko'].map((lng) => {
      const parts = [`src/i18n/${lng}.json`];
      if (page.startsWith('src/pages/alerts/')) parts.push(`src/i18n/alerts.${lng}.json`);
      if (page.startsWith('src/pages/delta/')) parts.push(`src/i18n/delta.${lng}.json`);
      return parts;
    });
    const perLanguage = strings.map((parts) => gzOf(new Set([...closure(entry), ...closure(page), ...parts.flatMap((p) => [...closure(p)])])));
    const gz = Math.max(...perLanguage);
    worst = Math.max(worst, gz);
    console.log(`${page}: ${kb(gz)} gzip of JS in all (entry + page + strings)${gz > LIMIT ? '  OVER' : ''}`);
  }
}
if (worst > LIMIT) {
  console.error('a first page loads more than 250 kB gzip of JavaScript');
  process.exit(1);
}
