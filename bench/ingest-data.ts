/**
 * Moved to bench/ingest/data.ts. This re-export keeps bench/soak/ (written while the move
 * happened) working until it imports '../ingest/data.js' itself; then delete this file.
 */
export * from './ingest/data.js';
