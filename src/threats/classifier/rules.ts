import {
  CORROBORATION,
  MAX_RULE_CONFIDENCE,
  NO_EVIDENCE_CONFIDENCE,
  PORT_ONLY_CONFIDENCE,
  RULE_TABLE,
  TEXT_WEIGHT,
  type RuleRow,
} from './rule-table.js';
import type { CategoryVerdict, Classification, Classifier, ClassifierInput } from './types.js';

/**
 * Classifies events with the rule table (rule-table.ts explains the semantics).
 *
 * Everything is compiled once in the constructor: one regular expression with one capture
 * group per row (so a single left-to-right pass over a text finds the evidence for every
 * category), and maps from port and protocol to rows. `verdict` allocates nothing but its
 * result object, except for the lower-cased protocol string.
 */
export class RulesClassifier implements Classifier {
  private readonly rows: readonly RuleRow[];
  private readonly pattern: RegExp;
  private readonly portRows = new Map<number, number[]>();
  private readonly signaturePortRow = new Map<number, number>();
  private readonly protocolRows = new Map<string, number[]>();
  // Scratch space reused across calls: classify is synchronous, so no two calls overlap.
  private readonly scores: Float64Array;
  private readonly fieldHits: Uint8Array;
  // Which scan last saw each row, so a row counts once per field without allocating a Set.
  private readonly seenStamp: Uint32Array;
  private stamp = 0;

  constructor(table: readonly RuleRow[] = RULE_TABLE) {
    if (table.length === 0) throw new RangeError('rule table is empty');
    this.rows = table;
    this.pattern = compilePattern(table);
    this.scores = new Float64Array(table.length);
    this.fieldHits = new Uint8Array(table.length);
    this.seenStamp = new Uint32Array(table.length);
    table.forEach((row, index) => {
      for (const port of row.ports ?? []) pushTo(this.portRows, port, index);
      for (const port of row.signaturePorts ?? []) {
        pushTo(this.portRows, port, index);
        // First row wins, matching the table's priority order.
        if (!this.signaturePortRow.has(port)) this.signaturePortRow.set(port, index);
      }
      for (const protocol of row.protocols ?? []) pushTo(this.protocolRows, protocol.toLowerCase(), index);
    });
  }

  classify(event: ClassifierInput): Classification {
    const { category, confidence } = this.verdict(event);
    return {
      category,
      confidence,
      anomalyScore: null,
      isAnomaly: false,
      method: 'RULES',
      modelVersion: null,
    };
  }

  verdict(event: ClassifierInput): CategoryVerdict {
    const { scores, fieldHits } = this;
    scores.fill(0);
    fieldHits.fill(0);
    let anyText = this.scan(event.threatType, 1);
    if (event.description !== null) anyText = this.scan(event.description, TEXT_WEIGHT) || anyText;
    for (const tag of event.tags) anyText = this.scan(tag, TEXT_WEIGHT) || anyText;

    const port = event.destinationPort;
    if (!anyText) {
      const row = port === null ? undefined : this.signaturePortRow.get(port);
      if (row === undefined) return { category: 'OTHER', confidence: NO_EVIDENCE_CONFIDENCE };
      return { category: this.row(row).category, confidence: PORT_ONLY_CONFIDENCE };
    }

    if (port !== null) this.corroborate(this.portRows.get(port));
    if (event.protocol !== null) this.corroborate(this.protocolRows.get(event.protocol.toLowerCase()));
    return this.best();
  }

  /** Adds the evidence found in one text field; returns whether anything matched. */
  private scan(text: string, weight: number): boolean {
    if (text.length === 0) return false;
    const { pattern, scores, fieldHits, seenStamp } = this;
    const stamp = (this.stamp = (this.stamp + 1) >>> 0 || 1);
    let matched = false;
    pattern.lastIndex = 0;
    let match = pattern.exec(text);
    while (match !== null) {
      const row = matchedRow(match);
      if (seenStamp[row] !== stamp) {
        seenStamp[row] = stamp;
        matched = true;
        const base = this.row(row).confidence * weight;
        // A second field agreeing (type and description, say) is extra evidence.
        scores[row] =
          fieldHits[row] === 0 ? Math.max(scores[row] ?? 0, base) : (scores[row] ?? 0) + CORROBORATION;
        fieldHits[row] = (fieldHits[row] ?? 0) + 1;
      }
      match = pattern.exec(text);
    }
    return matched;
  }

  private corroborate(rows: readonly number[] | undefined): void {
    if (rows === undefined) return;
    for (const row of rows) {
      const score = this.scores[row] ?? 0;
      if (score > 0) this.scores[row] = score + CORROBORATION;
    }
  }

  private best(): CategoryVerdict {
    let bestRow = 0;
    let bestScore = -1;
    this.scores.forEach((score, row) => {
      // Strictly greater: on a tie the earlier (higher-priority) row stays.
      if (score > bestScore) {
        bestScore = score;
        bestRow = row;
      }
    });
    return { category: this.row(bestRow).category, confidence: Math.min(bestScore, MAX_RULE_CONFIDENCE) };
  }

  private row(index: number): RuleRow {
    const row = this.rows[index];
    if (row === undefined) throw new RangeError(`no rule row ${index}`);
    return row;
  }
}

function pushTo<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

/** Group i+1 of the pattern holds a match for row i. */
function matchedRow(match: RegExpExecArray): number {
  for (let group = 1; group < match.length; group++) {
    if (match[group] !== undefined) return group - 1;
  }
  throw new Error('rule pattern matched without a group');
}

function escapeKeyword(keyword: string): string {
  const escaped = keyword.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A space in a keyword stands for any common separator, or none.
  return escaped.replace(/ +/g, '[\\s_\\-.]?');
}

function compilePattern(table: readonly RuleRow[]): RegExp {
  const groups = table.map((row) => {
    if (row.keywords.length === 0) return '(?!)'; // a row with ports only can never match text
    // Longest first, so that the match reported is the most specific keyword.
    const keywords = [...row.keywords].sort((a, b) => b.length - a.length).map(escapeKeyword);
    return `(${keywords.join('|')})`;
  });
  // Word start = not preceded by a letter or digit; `_` and `-` count as separators.
  return new RegExp(`(?<![a-z0-9])(?:${groups.join('|')})`, 'gi');
}
