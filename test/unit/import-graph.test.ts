/**
 * No runtime import loop among our own modules (issue 27): a loop makes the load order decide
 * which side sees the other's exports as undefined. Type-only imports are erased and do not count.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return ['node_modules', 'dist', 'test'].includes(name) ? [] : sourceFiles(file);
    return file.endsWith('.ts') && !file.endsWith('.d.ts') ? [file] : [];
  });
}

/** The relative modules a file needs at run time. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const needed: string[] = [];
  for (const statement of source.statements) {
    let specifier: ts.Expression | undefined;
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const typeOnly =
        clause?.isTypeOnly ||
        (clause &&
          !clause.name &&
          clause.namedBindings &&
          ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) specifier = statement.moduleSpecifier;
    } else if (ts.isExportDeclaration(statement) && !statement.isTypeOnly) {
      specifier = statement.moduleSpecifier;
    }
    if (specifier && ts.isStringLiteral(specifier) && specifier.text.startsWith('.'))
      needed.push(path.resolve(path.dirname(file), specifier.text.replace(/\.js$/, '.ts')));
  }
  return needed;
}

function cycles(files: string[]): string[] {
  const graph = new Map(files.map((file) => [file, runtimeImports(file)]));
  const found = new Set<string>();
  const done = new Set<string>();
  const path_: string[] = [];
  const visit = (file: string) => {
    const at = path_.indexOf(file);
    if (at >= 0) {
      found.add([...path_.slice(at), file].map((f) => path.relative(root, f)).join(' → '));
      return;
    }
    if (done.has(file)) return;
    path_.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    path_.pop();
    done.add(file);
  };
  files.forEach(visit);
  return [...found];
}

it('packages and services import each other without a runtime loop', () => {
  const dirs = ['packages', 'services'].flatMap((top) =>
    readdirSync(path.join(root, top)).map((name) => path.join(root, top, name, 'src')),
  );
  const files = dirs.filter((dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory()).flatMap(sourceFiles);
  expect(files.length).toBeGreaterThan(100);
  expect(cycles(files)).toEqual([]);
});
