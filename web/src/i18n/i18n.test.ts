import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import en from './en.json';
import ko from './ko.json';

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
