import { getOperationAST, Kind, OperationTypeNode, visit, type DocumentNode } from 'graphql';
import { groupKey } from './ws-fanout.js';

type Variables = Record<string, unknown> | null | undefined;

/** Which subscription group an operation's live results come from (see ws-fanout.ts). */
export interface GroupPlan {
  /** The group key of the operation as it was sent. */
  key: string;
  /**
   * Set when the operation resumes (`after` given through a variable): it replays on its
   * own, then takes its live results from the group `live.key`, the same operation with
   * that variable left out, executed with `live.variables`.
   */
  live?: { key: string; variables: Record<string, unknown> };
}

/**
 * The group plan of a subscription. An operation whose root field takes `after` from a
 * nullable variable used nowhere else, without a default, is grouped without that
 * variable: with no cursor it shares the group of every such operation (variable absent
 * or null alike); with one it joins that group after its replay. Anything else (a literal
 * cursor, a variable used twice or defaulted) keeps the key of the operation as sent.
 */
export function groupPlan(
  role: string,
  payload: { query: string; operationName?: string | null; variables?: Variables },
  document: DocumentNode,
): GroupPlan {
  const key = groupKey(role, payload);
  const name = cursorVariable(document, payload.operationName);
  if (name === undefined) return { key };
  const rest = { ...(payload.variables ?? {}) };
  const cursor = rest[name];
  delete rest[name];
  const liveKey = groupKey(role, { ...payload, variables: rest });
  if (cursor === undefined || cursor === null) return { key: liveKey };
  return { key, live: { key: liveKey, variables: rest } };
}

/** The variable the root field's `after` comes from, when leaving it out changes nothing else. */
function cursorVariable(
  document: DocumentNode,
  operationName: string | null | undefined,
): string | undefined {
  const operation = getOperationAST(document, operationName);
  const root = operation?.selectionSet.selections;
  if (
    operation?.operation !== OperationTypeNode.SUBSCRIPTION ||
    root?.length !== 1 ||
    root[0]!.kind !== Kind.FIELD
  )
    return undefined;
  const value = root[0]!.arguments?.find((a) => a.name.value === 'after')?.value;
  if (value?.kind !== Kind.VARIABLE) return undefined;
  const name = value.name.value;
  const definition = operation.variableDefinitions?.find((d) => d.variable.name.value === name);
  if (!definition || definition.type.kind === Kind.NON_NULL_TYPE || definition.defaultValue) return undefined;
  // Used once (the definition's own node aside): results depend on it nowhere else.
  let uses = 0;
  visit(document, {
    Variable: (node) => {
      if (node.name.value === name) uses += 1;
    },
  });
  return uses === 2 ? name : undefined;
}
