import { createContext, useContext } from 'react';
import type { Role } from './gql/graphql';

const rank: Record<Role, number> = { READER: 0, INGESTOR: 1, ANALYST: 2, ADMIN: 3 };

export interface Viewer {
  name: string;
  role: Role;
  prefix: string;
}

export const ViewerContext = createContext<Viewer>({ name: '', role: 'READER', prefix: '' });

export function useViewer(): Viewer {
  return useContext(ViewerContext);
}

/** The API enforces roles; the console only hides actions the key could not perform. */
export function can(viewer: Viewer, needs: Role): boolean {
  return rank[viewer.role] >= rank[needs];
}
