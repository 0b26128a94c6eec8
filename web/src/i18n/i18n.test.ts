import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { en, ko, PARTS } from './all';
import alertsKo from './alerts.ko.json';
import deltaKo from './delta.ko.json';
import coreKo from './ko.json';

type Tree = { [k: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

const enKeys = flatten(en as Tree);
const koKeys = flatten(ko as Tree);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'gen' ? [] : sources(p);
    return /\.tsx?$/.test(name) && !name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('translations', () => {
  it('have identical key sets', () => {
    expect([...koKeys.keys()].sort()).toEqual([...enKeys.keys()].sort());
  });
  it('have no empty values', () => {
    for (const [k, v] of [...enKeys, ...koKeys]) expect(v.trim(), k).not.toBe('');
  });
  it('use the same interpolation variables', () => {
    const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
    for (const [k, v] of enKeys) expect(vars(koKeys.get(k) ?? ''), k).toEqual(vars(v));
  });
  it('keep each section in one part, the same in both languages', () => {
    const all = [...PARTS.core, ...PARTS.alerts, ...PARTS.delta];
    expect(new Set(all).size).toBe(all.length);
    expect(Object.keys(coreKo).sort()).toEqual([...PARTS.core].sort());
    expect(Object.keys(alertsKo).sort()).toEqual([...PARTS.alerts].sort());
    expect(Object.keys(deltaKo).sort()).toEqual([...PARTS.delta].sort());
  });
  // The alert pages' strings (alerts.*.json) and the Canary analysis page's
  // (delta.*.json) load with those pages.
  for (const [part, folder] of [['alerts', 'alerts'], ['delta', 'delta']] as const) {
    it(`use the ${part} strings on the pages of pages/${folder} only (they load with them)`, () => {
      const root = new URL('..', import.meta.url).pathname;
      const pages = new URL(`../pages/${folder}/`, import.meta.url).pathname;
      const outside: string[] = [];
      const key = new RegExp(`['"\`](${PARTS[part].join('|')})\\.[a-zA-Z]`);
      for (const file of sources(root)) {
        if (file.startsWith(pages)) continue;
        if (key.test(readFileSync(file, 'utf8'))) outside.push(file);
      }
      expect(outside).toEqual([]);
    });
  }
  it('cover every literal key used in the code', () => {
    const root = new URL('..', import.meta.url).pathname;
    const missing: string[] = [];
    for (const file of sources(root)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z]+\.[a-zA-Z0-9.]+)'/g)) {
        // Plurals are looked up as key_one / key_other.
        if (!enKeys.has(m[1]!) && !enKeys.has(`${m[1]}_other`)) missing.push(`${file}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
