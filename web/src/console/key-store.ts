/**
 * Where the console keeps the API key. By default sessionStorage: the key survives a
 * reload and stays in this tab only, and is gone when the tab closes, which suits a key
 * that may ban addresses or mint other keys on a shared SOC workstation. "Remember on
 * this browser" moves it to localStorage, as GraphiQL does.
 */
const storageKey = 'threatwire:console:apiKey';

function read(storage: () => Storage): string {
  try {
    return storage().getItem(storageKey) ?? '';
  } catch {
    return ''; // storage disabled by privacy settings: the key lasts for this page only
  }
}

function write(storage: () => Storage, key: string): void {
  try {
    if (key) storage().setItem(storageKey, key);
    else storage().removeItem(storageKey);
  } catch {
    // see read()
  }
}

export function loadKey(): string {
  return read(() => sessionStorage) || read(() => localStorage);
}

export function saveKey(key: string, remember: boolean): void {
  write(() => sessionStorage, key);
  write(() => localStorage, remember ? key : '');
}

export function forgetKey(): void {
  write(() => sessionStorage, '');
  write(() => localStorage, '');
}
