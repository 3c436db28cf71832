import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config.js';

export type { Logger };

/** Root logger; components take `logger.child({ component })` so every line says where it came from. */
export function createLogger(
  config: { log: Pick<Config['log'], 'level' | 'pretty'> },
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.log.level,
    base: { service: 'threatwire' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.password', '*.apiKey', '*.secret'],
      censor: '[redacted]',
    },
    ...(config.log.pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } }
      : {}),
  };
  // A destination (tests reading the log) takes the place of stdout and of pretty printing.
  return destination ? pino({ ...options, transport: undefined }, destination) : pino(options);
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogArgs = Parameters<Logger['info']>;

/**
 * A child logger made on first use. Fastify gives every request a child logger; making a
 * pino child serialises its bindings, which cost more than the rest of a small request's
 * logging. Most requests log nothing, so this one becomes a real child only when a line is
 * written at an enabled level (or `child` is used and writes). Enough of pino's surface
 * for Fastify's checks and for code that takes a `Logger`.
 */
export class LazyChildLogger {
  private made: Logger | undefined;

  private readonly options: { level?: string };

  constructor(
    private readonly parent: Logger | LazyChildLogger,
    private readonly own: Record<string, unknown>,
    // Copied: a caller may change its object after handing it over (Fastify does).
    options: { level?: string } = {},
  ) {
    this.options = { ...options };
  }

  /** This child as a pino `Logger` (its methods are the ones code calls). */
  static of(parent: Logger, bindings: Record<string, unknown>, options?: { level?: string }): Logger {
    return new LazyChildLogger(parent, bindings, options) as unknown as Logger;
  }

  private real(): Logger {
    const parent = this.parent instanceof LazyChildLogger ? this.parent.real() : this.parent;
    return (this.made ??= parent.child(this.own, this.options));
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  isLevelEnabled(level: string): boolean {
    if (this.made) return this.made.isLevelEnabled(level);
    return this.options.level === undefined
      ? this.parent.isLevelEnabled(level)
      : pino.levels.values[level]! >= pino.levels.values[this.options.level]!;
  }

  private write(level: Level, args: LogArgs): void {
    if (this.isLevelEnabled(level)) this.real()[level](...args);
  }

  fatal(...args: LogArgs): void {
    this.write('fatal', args);
  }
  error(...args: LogArgs): void {
    this.write('error', args);
  }
  warn(...args: LogArgs): void {
    this.write('warn', args);
  }
  info(...args: LogArgs): void {
    this.write('info', args);
  }
  debug(...args: LogArgs): void {
    this.write('debug', args);
  }
  trace(...args: LogArgs): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Record<string, unknown>, options?: { level?: string }): Logger {
    return new LazyChildLogger(this, bindings, options) as unknown as Logger;
  }

  bindings(): Record<string, unknown> {
    return this.real().bindings();
  }
}
