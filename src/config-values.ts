import ipaddr from 'ipaddr.js';
import { z } from 'zod';

/** zod parsers for environment values: empty means unset, errors say what is expected. */

export const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

export const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });

export const url = (protocols: string[]) =>
  optionalString.refine(
    (v) => {
      if (v === undefined) return true;
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL (${protocols.join(' or ')})` },
  );

/** Request budgets as `points/seconds` pairs, e.g. `4/60,500/86400`; empty = unlimited. */
export const rateWindows = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const text = (v ?? fallback).trim();
      if (text === '') return [];
      const windows: { points: number; durationSeconds: number }[] = [];
      for (const part of text.split(',')) {
        const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(part);
        const points = Number(m?.[1]);
        const durationSeconds = Number(m?.[2]);
        if (!m || points < 1 || durationSeconds < 1) {
          ctx.addIssue({ code: 'custom', message: 'must be points/seconds pairs such as 4/60,500/86400' });
          return z.NEVER;
        }
        windows.push({ points, durationSeconds });
      }
      return windows;
    });

/** A comma-separated list of CIDRs (`10.0.0.0/8,::1/128`); empty = none. */
export const cidrList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const parts = (v ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    for (const p of parts) {
      if (!ipaddr.isValidCIDR(p)) {
        ctx.addIssue({
          code: 'custom',
          message: `must be CIDRs such as 10.0.0.0/8,127.0.0.1/32 (${p} is not one)`,
        });
        return z.NEVER;
      }
    }
    return parts;
  });
