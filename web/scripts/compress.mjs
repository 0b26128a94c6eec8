// Writes .gz and .br next to every text asset of dist/ (the server sends a
// precompressed copy when the client accepts it) and reports the gzip size
// of the JavaScript the first page loads (entry script + modulepreloads).
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
// What the home page (/services) loads in all: the entry plus its lazy
// page chunk and that chunk's static imports.
if (manifest) {
  const closure = (key, seen = new Set()) => {
    if (seen.has(key)) return seen;
    seen.add(key);
    for (const dep of manifest[key]?.imports ?? []) closure(dep, seen);
    return seen;
  };
  const entry = Object.keys(manifest).find((k) => manifest[k].isEntry);
  for (const page of ['src/pages/services/ServicesPage.tsx', 'src/pages/traces/TracesPage.tsx', 'src/pages/map/MapPage.tsx']) {
    if (!manifest[page]) continue;
    const keys = new Set([...closure(entry), ...closure(page)]);
    let gz = 0;
    for (const k of keys) gz += sizes.get('/' + manifest[k].file)?.gz ?? 0;
    console.log(`${page}: ${kb(gz)} gzip of JS in all (entry + page)`);
  }
}
if (total > 250 * 1024) {
  console.error('initial JS exceeds 250 kB gzip');
  process.exit(1);
}
