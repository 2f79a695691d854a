/**
 * The generated narrative every resource we answer carries (`text`): one
 * short line of who, what and when, made only of what the resource itself
 * holds, for a reader or a system that shows resources it does not know.
 */
export type Narrative = { status: 'generated'; div: string };

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
// XML 1.0 allows these control characters in no form, escaped or not: they are dropped.
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Text as XHTML character data: names and reasons are anyone's input, so `<script>` stays text. */
export const escapeXhtml = (text: string) => text.replace(NOT_XML, '').replace(/[&<>"]/g, (c) => ESCAPES[c]!);

export const narrative = (text: string): Narrative => ({
  status: 'generated',
  div: `<div xmlns="http://www.w3.org/1999/xhtml">${escapeXhtml(text)}</div>`,
});

/** An instant as a summary shows it, in UTC as the resource has it: `2026-03-02 08:00 UTC`. */
export const readableTime = (instant: string) => `${new Date(instant).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** `2026-03-02 08:00–08:30 UTC`, or both in full when they fall on different days. */
export function readableSpan(start: string, end: string): string {
  const [from, to] = [readableTime(start), readableTime(end)];
  return from.slice(0, 10) === to.slice(0, 10) ? `${from.slice(0, 16)}–${to.slice(11)}` : `${from} – ${to}`;
}
