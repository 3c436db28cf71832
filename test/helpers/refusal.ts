import { AppError } from '../../src/platform/errors.js';

/** The AppError `fn` throws, as plain data (code, message, details), or 'no error'. */
export function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { code: err.code, message: err.message, details: err.details };
  }
  return 'no error';
}
