/** The API key lives in localStorage so it is entered once per browser, not per visit. */
const storageKey = 'threatwire:apiKey';

export function loadApiKey(): string {
  try {
    return localStorage.getItem(storageKey) ?? '';
  } catch {
    // Storage can be disabled (privacy settings); the key then lasts for the page only.
    return '';
  }
}

export function saveApiKey(key: string): void {
  try {
    if (key) localStorage.setItem(storageKey, key);
    else localStorage.removeItem(storageKey);
  } catch {
    // See loadApiKey: keeping it in memory is the best we can do.
  }
}

/** Enough of the key to recognise it without putting the secret on screen. */
export function maskApiKey(key: string): string {
  return key.length <= 10 ? '•'.repeat(key.length) : `${key.slice(0, 8)}…`;
}
