/**
 * CSV as RFC 4180 has it (csv-stringify: CRLF line ends, fields with a comma, quote or
 * line break quoted, quotes doubled), made safe to open in a spreadsheet: a text cell
 * starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with a single
 * quote so it is never read as a formula (OWASP "CSV injection").
 */
import { stringify } from 'csv-stringify/sync';

const FORMULA_START = /^[=+\-@\t\r]/;

export type CsvCell = string | number | boolean | Date | null | undefined | readonly string[];

/** A cell as text: dates in ISO 8601, lists joined with `;`, null and undefined empty. */
export function csvCellText(cell: CsvCell): string | number | boolean {
  if (cell === null || cell === undefined) return '';
  if (cell instanceof Date) return cell.toISOString();
  if (Array.isArray(cell)) return neutralise((cell as readonly string[]).join(';'));
  if (typeof cell === 'string') return neutralise(cell);
  return cell as number | boolean;
}

export function neutralise(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** Lines of CSV for `rows` (each ending in CRLF). */
export function csvLines(rows: readonly (readonly CsvCell[])[]): string {
  if (rows.length === 0) return '';
  return stringify(
    rows.map((r) => r.map(csvCellText)),
    {
      record_delimiter: '\r\n',
      // csv-stringify quotes the record delimiter only; a bare LF or CR needs quotes too.
      quoted_match: /[\r\n]/,
      cast: { boolean: (b) => (b ? 'true' : 'false') },
    },
  );
}
