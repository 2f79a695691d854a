import { ACCESS_MATRIX, ACTIONS, PEER_SERVICES, USER_ROLES, type Matrix } from './model.js';

const GRANT_TEXT = { any: 'all', own: 'own', care: 'care team' } as const;

/** The matrix as the Markdown table docs/access-control.md shows (a unit test keeps that copy equal). */
export function accessMatrixMarkdown(matrix: Matrix = ACCESS_MATRIX): string {
  const principals = [...USER_ROLES, ...PEER_SERVICES] as const;
  const lines = [`| Resource | Action | ${principals.join(' | ')} |`, `| --- | --- | ${principals.map(() => '---').join(' | ')} |`];
  for (const [resource, actions] of Object.entries(ACTIONS)) {
    for (const action of actions) {
      const cell = (matrix as Record<string, Record<string, Record<string, keyof typeof GRANT_TEXT>>>)[resource]![action]!;
      lines.push(`| ${resource} | ${action} | ${principals.map((p) => (cell[p] ? GRANT_TEXT[cell[p]] : '—')).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}
