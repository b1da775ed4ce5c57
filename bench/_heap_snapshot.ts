/** Counts the nodes of a V8 heap snapshot, by kind, for the allocation figures. */

/** A snapshot's nodes: in all, and per kind ("object:Request", "(string)" …). */
export interface HeapCount {
  /** Nodes, every kind. */
  total: number;
  /** Their shallow sizes, in bytes. */
  totalSize: number;
  /** Per kind: [nodes, shallow bytes]. */
  kinds: Map<string, [number, number]>;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * Reads a `.heapsnapshot` file (as `v8.writeHeapSnapshot()` writes it) and
 * counts its nodes. Objects, closures and native objects are counted by
 * constructor name; everything else (strings, arrays, code, hidden V8
 * internals) by its type. Synthetic roots are left out.
 *
 * @param path The snapshot file.
 * @returns The counts.
 */
export async function countHeapObjects(path: string): Promise<HeapCount> {
  const data = JSON.parse(await Deno.readTextFile(path)) as Snapshot;
  const fields = data.snapshot.meta.node_fields;
  const types = data.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const kinds = new Map<string, [number, number]>();
  let total = 0;
  let totalSize = 0;
  for (let i = 0; i < data.nodes.length; i += width) {
    const type = types[data.nodes[i + typeAt]];
    if (type === "synthetic") continue;
    const size = data.nodes[i + sizeAt];
    const named = type === "object" || type === "closure" || type === "native";
    const kind = named ? `${type}:${data.strings[data.nodes[i + nameAt]]}` : `(${type})`;
    const entry = kinds.get(kind);
    if (entry) {
      entry[0]++;
      entry[1] += size;
    } else kinds.set(kind, [1, size]);
    total++;
    totalSize += size;
  }
  return { total, totalSize, kinds };
}
