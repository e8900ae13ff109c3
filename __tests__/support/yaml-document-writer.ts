import { Document, isCollection, isMap, isScalar, isSeq, Scalar, visit, YAMLMap, YAMLSeq } from 'yaml';
import { FLOW_ENTRIES, FLOW_VALUES, goYamlRetypes, plainInFlow } from '../../lib/output/write-dist';

/**
 * The dist/ writer as it was before lib/output/write-dist.ts wrote the YAML
 * itself: a `yaml` Document of each manifest, its env entries and commands
 * set to flow style, its strings kubectl would retype double-quoted. Kept as
 * the reference the fast writer must match byte for byte
 * (__tests__/output/write-dist.test.ts).
 */
export function manifestsToYamlByDocument(docs: unknown[]): string {
  return docs.map((manifest) => {
    if (manifest === undefined) return '\n';
    const doc = new Document(manifest, { keepUndefined: true, version: '1.1' });
    visit(doc, {
      Pair(_key, pair) {
        if (!isScalar(pair.key) || typeof pair.key.value !== 'string') return;
        if (FLOW_ENTRIES.has(pair.key.value) && isSeq(pair.value)) {
          for (const item of pair.value.items) if (isMap(item)) flowWhenOneLine(item);
        } else if (FLOW_VALUES.has(pair.key.value) && isCollection(pair.value)) {
          flowWhenOneLine(pair.value);
        }
      },
      Scalar(_key, node) {
        if (typeof node.value === 'string' && !node.type?.startsWith('QUOTE') && goYamlRetypes(node.value)) node.type = 'QUOTE_DOUBLE';
      },
    });
    return doc.toString({ lineWidth: 0, indentSeq: false, flowCollectionPadding: false });
  }).join('---\n');
}

/** Flow style for `node` unless a string in it spans lines; its strings not plain in flow for kubectl double-quoted. */
function flowWhenOneLine(node: YAMLMap | YAMLSeq): void {
  const strings: Scalar[] = [];
  let multiLine = false;
  visit(node, {
    Scalar(_key, scalar) {
      if (typeof scalar.value !== 'string') return undefined;
      if (scalar.value.includes('\n')) {
        multiLine = true;
        return visit.BREAK;
      }
      strings.push(scalar);
      return undefined;
    },
  });
  if (multiLine) return;
  node.flow = true;
  for (const scalar of strings) {
    if (!scalar.type?.startsWith('QUOTE') && !plainInFlow(scalar.value as string)) scalar.type = 'QUOTE_DOUBLE';
  }
}
