import {
  getOperationAST,
  Kind,
  OperationTypeNode,
  print,
  visit,
  type ArgumentNode,
  type DocumentNode,
} from 'graphql';
import { groupKey } from './ws-fanout.js';

type Variables = Record<string, unknown> | null | undefined;

/** Which subscription group an operation's live results come from (see ws-fanout.ts). */
export interface GroupPlan {
  /** The group key of the operation as it was sent. */
  key: string;
  /**
   * Set when the operation resumes (`after` given): it replays on its own, then takes its
   * live results from the group `live.key`, the same operation without the cursor,
   * executed with `live.variables` (and `live.document`, when the cursor was written in
   * the query text and the document without it had to be made).
   */
  live?: { key: string; variables: Record<string, unknown>; document?: DocumentNode };
}

/**
 * The group plan of a subscription. An operation whose root field takes `after` from a
 * nullable variable used nowhere else, without a default, is grouped without that
 * variable: with no cursor it shares the group of every such operation (variable absent
 * or null alike); with one it joins that group after its replay. A cursor written as a
 * string in the query text resumes the same way into the group of the document printed
 * without it (so every client resuming the same subscription shape that way shares one
 * live group, whatever its cursor). Anything else (a variable used twice or defaulted)
 * keeps the key of the operation as sent.
 */
export function groupPlan(
  role: string,
  payload: { query: string; operationName?: string | null; variables?: Variables },
  document: DocumentNode,
): GroupPlan {
  const key = groupKey(role, payload);
  const literal = literalCursor(document, payload.operationName);
  if (literal) {
    const live = withoutArgument(document, literal);
    const variables = { ...(payload.variables ?? {}) };
    return {
      key,
      live: { key: groupKey(role, { ...payload, query: print(live), variables }), variables, document: live },
    };
  }
  const name = cursorVariable(document, payload.operationName);
  if (name === undefined) return { key };
  const rest = { ...(payload.variables ?? {}) };
  const cursor = rest[name];
  delete rest[name];
  const liveKey = groupKey(role, { ...payload, variables: rest });
  if (cursor === undefined || cursor === null) return { key: liveKey };
  return { key, live: { key: liveKey, variables: rest } };
}

/** The root field's `after` argument of a subscription, when it is a string in the text. */
function literalCursor(
  document: DocumentNode,
  operationName: string | null | undefined,
): ArgumentNode | undefined {
  const root = subscriptionRoot(document, operationName);
  const argument = root?.arguments?.find((a) => a.name.value === 'after');
  return argument?.value.kind === Kind.STRING ? argument : undefined;
}

/** `document` with `argument` (one node of it) left out. */
function withoutArgument(document: DocumentNode, argument: ArgumentNode): DocumentNode {
  return visit(document, { Argument: (node) => (node === argument ? null : undefined) });
}

/** The only root field of the subscription `operationName` names, if it is one. */
function subscriptionRoot(document: DocumentNode, operationName: string | null | undefined) {
  const operation = getOperationAST(document, operationName);
  const root = operation?.selectionSet.selections;
  if (operation?.operation !== OperationTypeNode.SUBSCRIPTION || root?.length !== 1) return undefined;
  return root[0]!.kind === Kind.FIELD ? root[0] : undefined;
}

/** The variable the root field's `after` comes from, when leaving it out changes nothing else. */
function cursorVariable(
  document: DocumentNode,
  operationName: string | null | undefined,
): string | undefined {
  const value = subscriptionRoot(document, operationName)?.arguments?.find(
    (a) => a.name.value === 'after',
  )?.value;
  if (value?.kind !== Kind.VARIABLE) return undefined;
  const name = value.name.value;
  const definition = getOperationAST(document, operationName)?.variableDefinitions?.find(
    (d) => d.variable.name.value === name,
  );
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
