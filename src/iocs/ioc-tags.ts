/**
 * Analyst tags and notes on IOCs (docs/api.md, "Tags and notes"). A tag is compared
 * case-insensitively and stored lower-case: 1–64 characters from a-z, 0-9 and
 * `. _ : / + -`, starting with a letter or digit (`apt28`, `tlp:amber`, `campaign/2026-q4`).
 * An IOC carries at most MAX_TAGS_PER_IOC; a call names at most as many. Text that
 * PostgreSQL cannot store (NUL, lone surrogates) is refused before the pattern is tried,
 * with its own message.
 */
import { checkListLength, checkText } from '../platform/argument-checks.js';
import { badInput } from '../platform/errors.js';

export const MAX_TAG_LENGTH = 64;
export const MAX_TAGS_PER_IOC = 32;
/** Longest note on an IOC. */
export const MAX_IOC_NOTE_LENGTH = 1000;

const TAG = /^[a-z0-9][a-z0-9._:/+-]*$/;

/** The tags as stored: trimmed, lower-case, first spelling of each kept, in input order. */
export function checkTags(argument: string, tags: readonly string[]): string[] {
  checkListLength(argument, tags, MAX_TAGS_PER_IOC);
  const out: string[] = [];
  tags.forEach((raw, index) => {
    const at = `${argument}[${index}]`;
    const tag = (checkText(at, raw, MAX_TAG_LENGTH) ?? '').trim().toLowerCase();
    if (!TAG.test(tag)) {
      throw badInput(
        `${at} "${tag}" is not a tag: use 1–${MAX_TAG_LENGTH} of a-z, 0-9 and . _ : / + -, starting with a letter or digit`,
        { argument: at },
      );
    }
    if (!out.includes(tag)) out.push(tag);
  });
  return out;
}

/** The note as stored: null for none or blank; at most MAX_IOC_NOTE_LENGTH characters. */
export function checkIocNote(note: string | null | undefined): string | null {
  const checked = checkText('note', note, MAX_IOC_NOTE_LENGTH);
  return checked === undefined || checked.trim() === '' ? null : checked;
}

/** `current` plus `added` (new ones at the end); more than MAX_TAGS_PER_IOC is refused. */
export function addTags(current: readonly string[], added: readonly string[]): string[] {
  const next = [...current, ...added.filter((t) => !current.includes(t))];
  if (next.length > MAX_TAGS_PER_IOC) {
    throw badInput(
      `an IOC carries at most ${MAX_TAGS_PER_IOC} tags; it has ${current.length} and ${next.length - current.length} would be added`,
      { argument: 'tags', limit: MAX_TAGS_PER_IOC },
    );
  }
  return next;
}
