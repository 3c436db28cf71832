import { useCallback, useSyncExternalStore } from 'react';

/**
 * Views are real paths (/live, /map, …) so a URL can be bookmarked and shared; their
 * state (filters, windows, the IOC being looked up) lives in the query string. The
 * server answers every one of these paths with the console page.
 */
export const views = ['live', 'map', 'ioc', 'events', 'crowdsec', 'stats', 'admin'] as const;
export type View = (typeof views)[number];

const listeners = new Set<() => void>();
const notify = (): void => listeners.forEach((l) => l());
addEventListener('popstate', notify);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const snapshot = (): string => location.pathname + location.search;

export function currentView(pathname: string = location.pathname): View {
  const name = pathname.replace(/^\/+|\/+$/g, '');
  return (views as readonly string[]).includes(name) ? (name as View) : 'live';
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

export function useLocation(): { view: View; params: URLSearchParams } {
  const loc = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(loc, location.origin);
  return { view: currentView(url.pathname), params: url.searchParams };
}

/**
 * The view's filters as URL parameters: reading gives the current values, writing
 * replaces the history entry (typing in a filter should not flood the back button).
 */
export function useParams(): [URLSearchParams, (patch: Record<string, string | undefined>) => void] {
  const { params } = useLocation();
  const update = useCallback((patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined || value === '') next.delete(key);
      else next.set(key, value);
    }
    // Commas stay readable in a shared URL (lists such as kinds=threat,alert).
    const query = next.toString().replace(/%2C/gi, ',');
    navigate(location.pathname + (query ? `?${query}` : ''), { replace: true });
  }, []);
  return [params, update];
}

export function href(view: View, params?: Record<string, string>): string {
  const query = params ? new URLSearchParams(params).toString() : '';
  return `/${view}${query ? `?${query}` : ''}`;
}
