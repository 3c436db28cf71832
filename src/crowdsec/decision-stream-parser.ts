/**
 * Incremental parser for a bouncer-stream body `{"new":[…],"deleted":[…]}`. A
 * startup snapshot of 100,000 decisions is about 15 MB of JSON; parsing it whole
 * holds the text, the parsed tree and the validated copies at once. This parser takes
 * the body chunk by chunk and hands out validated decisions in batches, so memory
 * follows the batch size, not the snapshot size.
 *
 * The top-level shape is checked from the token stream, because the value parser
 * only reports the array elements: a body like `{"new":5}` or `[]` must fail as
 * BAD_RESPONSE instead of passing as an empty snapshot (the poller would then mark
 * every stored decision deleted). `null` lists (LAPI 1.4) and missing lists are empty.
 */
import { JSONParser, TokenType, type ParsedElementInfo, type ParsedTokenInfo } from '@streamparser/json';
import { decisionSchema, LapiError, type Decision } from './lapi-types.js';

export type DecisionList = 'new' | 'deleted';
export interface DecisionBatch {
  list: DecisionList;
  decisions: Decision[];
}

/** A LAPI decision is 150–300 bytes of JSON; anything near this is not a decision. */
export const MAX_DECISION_BYTES = 64 * 1024;
const LISTS: ReadonlySet<string> = new Set<DecisionList>(['new', 'deleted']);

export class DecisionStreamParser {
  private readonly parser = new JSONParser({ paths: ['$.new.*', '$.deleted.*'], keepStack: false });
  private readonly ready: DecisionBatch[] = [];
  private current: DecisionBatch | undefined;
  private failure: LapiError | undefined;
  private readonly counts = { new: 0, deleted: 0 };
  // Shape tracking over tokens: nesting depth, and which top-level key we are in.
  private depth = 0;
  private rootSeen = false;
  private expectKey = false;
  private key: string | undefined;
  private itemStart = -1;

  constructor(private readonly batchSize = 1000) {
    this.parser.onToken = (t) => this.onToken(t);
    this.parser.onValue = (v) => this.onValue(v);
    this.parser.onError = (err) => {
      this.failure ??= err instanceof LapiError ? err : bad(err.message);
    };
  }

  /** Feeds one chunk; throws a BAD_RESPONSE LapiError as soon as the body is wrong. */
  write(chunk: Uint8Array | string): void {
    this.parser.write(chunk);
    if (this.failure) throw this.failure;
  }

  /** Ends the body: fails if it was cut short or was not an object. */
  end(): void {
    if (!this.parser.isEnded) this.parser.end();
    if (this.failure) throw this.failure;
    if (!this.rootSeen || this.depth !== 0) throw bad('the body ended before the JSON was complete');
    this.flush();
  }

  /** Batches completed so far; each is handed out once. */
  take(): DecisionBatch[] {
    return this.ready.splice(0, this.ready.length);
  }

  totals(): Readonly<Record<DecisionList, number>> {
    return { ...this.counts };
  }

  private onToken(t: ParsedTokenInfo): void {
    const opens = t.token === TokenType.LEFT_BRACE || t.token === TokenType.LEFT_BRACKET;
    const closes = t.token === TokenType.RIGHT_BRACE || t.token === TokenType.RIGHT_BRACKET;
    if (this.depth === 0) {
      if (t.token !== TokenType.LEFT_BRACE) throw bad('the body is not a JSON object');
      this.rootSeen = true;
      this.expectKey = true;
    } else if (this.depth === 1) {
      this.topLevel(t);
    } else if (this.depth === 2 && this.inList() && !closes && t.token !== TokenType.COMMA) {
      this.itemStart = t.offset;
    }
    const listEnds = closes && this.depth === 2; // not part of any decision: `[]` has none
    if (this.depth >= 2 && this.inList() && !listEnds && t.offset - this.itemStart > MAX_DECISION_BYTES) {
      throw bad(`a decision in "${this.key ?? ''}" is larger than ${MAX_DECISION_BYTES} bytes`);
    }
    if (opens) this.depth++;
    if (closes) this.depth--;
  }

  /** Tokens directly inside the root object: keys, separators, and each key's value. */
  private topLevel(t: ParsedTokenInfo): void {
    if (t.token === TokenType.COMMA) {
      this.expectKey = true;
    } else if (this.expectKey && t.token === TokenType.STRING) {
      this.key = t.value as string;
      this.expectKey = false;
    } else if (t.token !== TokenType.COLON && t.token !== TokenType.RIGHT_BRACE && this.inList()) {
      if (t.token !== TokenType.LEFT_BRACKET && t.token !== TokenType.NULL) {
        throw bad(`"${this.key ?? ''}" is neither a list nor null`);
      }
    }
  }

  private inList(): boolean {
    return this.key !== undefined && LISTS.has(this.key);
  }

  private onValue({ value, stack }: ParsedElementInfo): void {
    const list = stack[1]?.key;
    if (list !== 'new' && list !== 'deleted') return;
    const parsed = decisionSchema.safeParse(value);
    if (!parsed.success) {
      throw bad(`unexpected decision in "${list}": ${parsed.error.message.slice(0, 300)}`);
    }
    if (this.current?.list !== list) this.flush();
    this.current ??= { list, decisions: [] };
    this.current.decisions.push(parsed.data);
    this.counts[list]++;
    if (this.current.decisions.length >= this.batchSize) this.flush();
  }

  private flush(): void {
    if (this.current?.decisions.length) this.ready.push(this.current);
    this.current = undefined;
  }
}

function bad(text: string): LapiError {
  return new LapiError('BAD_RESPONSE', `GET /v1/decisions/stream: ${text}`);
}
