import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * The field names a request selects under `path` of the current field (e.g.
 * `['edges', 'node']` of a connection), through fragments and inline fragments. A field
 * under `@skip`/`@include` counts as selected: asking for a column too many is harmless.
 */
export function selectedFields(info: GraphQLResolveInfo, path: readonly string[]): Set<string> {
  const out = new Set<string>();
  const walk = (sets: readonly (SelectionSetNode | undefined)[], depth: number) => {
    const fields: FieldNode[] = [];
    const collect = (set: SelectionSetNode | undefined) => {
      for (const s of set?.selections ?? []) {
        if (s.kind === Kind.FIELD) fields.push(s);
        else if (s.kind === Kind.INLINE_FRAGMENT) collect(s.selectionSet);
        else collect(info.fragments[s.name.value]?.selectionSet);
      }
    };
    sets.forEach(collect);
    if (depth === path.length) {
      for (const f of fields) out.add(f.name.value);
      return;
    }
    walk(
      fields.filter((f) => f.name.value === path[depth]).map((f) => f.selectionSet),
      depth + 1,
    );
  };
  walk(
    info.fieldNodes.map((f) => f.selectionSet),
    0,
  );
  return out;
}
