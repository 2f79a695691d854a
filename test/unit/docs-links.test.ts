/**
 * The README and docs/ (its subfolders too, e.g. docs/decisions/) link to each other's sections and
 * to code: every relative link names a file that exists and, with a `#fragment`, a heading of that
 * file (GitHub's anchors), so moving a section or a file cannot leave a link behind.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const documents = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.posix.join('docs', f.split(path.sep).join('/')))
    .sort(),
];

/** Outside fenced code: a heading in a code block is not one. */
function prose(file: string): string[] {
  let fenced = false;
  return readFileSync(path.join(root, file), 'utf8')
    .split('\n')
    .filter((line) => {
      if (line.startsWith('```')) fenced = !fenced;
      return !fenced && !line.startsWith('```');
    });
}

/** GitHub's anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(file)) {
    const heading = /^#+ (.*)/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

it('reads the design decisions too', () => {
  expect(documents).toContain('docs/decisions/README.md');
});

it('every relative link of the README and docs/ reaches an existing file and heading', () => {
  const broken: string[] = [];
  for (const file of documents) {
    for (const line of prose(file)) {
      for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [pathPart, fragment] = target!.split('#');
        const destination = pathPart ? path.normalize(path.join(path.dirname(file), pathPart)) : file;
        if (!existsSync(path.join(root, destination))) broken.push(`${file}: ${target} (no such file)`);
        else if (fragment && destination.endsWith('.md') && !anchors(destination).has(fragment))
          broken.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  expect(broken).toEqual([]);
});
