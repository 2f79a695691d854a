import { narrative, type Narrative } from './narrative.js';
import { Systems } from './systems.js';

/** The problem+json our services answer (RFC 9457; @caregrid/platform's Problem). */
export type ProblemLike = {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
};

export type IssueCode =
  | 'invalid'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'not-supported'
  | 'conflict'
  | 'business-rule'
  | 'too-costly'
  | 'throttled'
  | 'processing'
  | 'transient'
  | 'timeout'
  | 'exception';

type Issue = {
  severity: 'fatal' | 'error';
  code: IssueCode;
  details?: { coding?: { system: string; code: string }[]; text?: string };
  diagnostics?: string;
  expression?: string[];
};

export type OperationOutcome = { resourceType: 'OperationOutcome'; text?: Narrative; issue: Issue[] };

/**
 * The IssueType for an HTTP status (FHIR R4 issue-type): 422 is a business
 * rule (a well-formed request against a rule: outside working hours, bad
 * transition), 409 a conflict (double booking), 503 transient (retry later).
 */
export function issueCodeFor(status: number): IssueCode {
  const byStatus: Record<number, IssueCode> = {
    400: 'invalid',
    401: 'login',
    403: 'forbidden',
    404: 'not-found',
    405: 'not-supported',
    406: 'not-supported',
    409: 'conflict',
    410: 'not-found',
    412: 'conflict',
    413: 'too-costly',
    415: 'not-supported',
    422: 'business-rule',
    429: 'throttled',
    503: 'transient',
    504: 'timeout',
  };
  return byStatus[status] ?? (status >= 500 ? 'exception' : 'processing');
}

/** `body.participant.0.actor.reference` → `Appointment.participant[0].actor.reference`. */
function fhirPath(resourceType: string, path: string[]): string {
  return path.reduce((expression, part) => (/^\d+$/.test(part) ? `${expression}[${part}]` : `${expression}.${part}`), resourceType);
}

/**
 * OperationOutcome ← problem+json, the HTTP status kept alongside. The
 * problem's type stays machine-readable as a coding (`urn:caregrid:problem`
 * + slug), its title and detail as the text; each field error becomes an
 * issue of its own: a body field with its FHIRPath expression (given the
 * resource type), a search parameter named in the diagnostics.
 */
export function toOperationOutcome(
  problem: ProblemLike,
  options: { resourceType?: string } = {},
): { status: number; outcome: OperationOutcome } {
  const code = issueCodeFor(problem.status);
  const severity: Issue['severity'] = problem.status >= 500 ? 'fatal' : 'error';
  const slug = problem.type.startsWith(`${Systems.problem}:`) ? problem.type.slice(Systems.problem.length + 1) : undefined;
  const details = {
    ...(slug ? { coding: [{ system: Systems.problem, code: slug }] } : {}),
    text: problem.detail ? `${problem.title}: ${problem.detail}` : problem.title,
  };
  const fieldIssues = (problem.errors ?? []).map((error): Issue => {
    const [root, ...rest] = error.path.split('.');
    if (root === 'query' && rest.length > 0) {
      return { severity, code, details, diagnostics: `search parameter ${rest[0]}: ${error.message}` };
    }
    if (root === 'body' && options.resourceType) {
      return { severity, code, details, diagnostics: error.message, expression: [fhirPath(options.resourceType, rest)] };
    }
    return { severity, code, details, diagnostics: `${error.path}: ${error.message}` };
  });
  const issues =
    fieldIssues.length > 0 ? fieldIssues : [{ severity, code, details, ...(problem.detail ? { diagnostics: problem.detail } : {}) }];
  return {
    status: problem.status,
    outcome: {
      resourceType: 'OperationOutcome',
      // The problem in words, and each field's complaint: the issues' own texts.
      text: narrative([details.text, ...fieldIssues.map((issue) => issue.diagnostics)].filter((part) => !!part).join('; ')),
      issue: issues,
    },
  };
}
