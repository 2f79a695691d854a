import { readFileSync } from 'node:fs';
import { accessMatrixMarkdown } from '../src/access/matrix-table.js';

describe('the access matrix as a table', () => {
  it('docs/access-control.md shows the matrix as it is', () => {
    // Prettier pads Markdown tables: compare with the padding taken out.
    const unpadded = (text: string) => text.replace(/ {2,}/g, ' ').replace(/-{3,}/g, '---');
    const readme = readFileSync(new URL('../../../docs/access-control.md', import.meta.url), 'utf8');
    expect(unpadded(readme)).toContain(unpadded(accessMatrixMarkdown()));
  });
});
