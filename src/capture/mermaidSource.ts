// Where the Mermaid source is in an editor's text (no vscode import: unit-tested in plain Node).

/** A fenced ```mermaid (or ~~~mermaid) block; group 3 is its body. */
const FENCE = /^([ \t]*)(```+|~~~+)[ \t]*mermaid\b[^\n]*\n([\s\S]*?)^\1?\2[ \t]*\r?$/gm;

/** A Mermaid file: its whole text is the diagram. */
export const isMermaidFile = (fileName: string, languageId: string) => languageId === 'mermaid' || /\.(mmd|mermaid)$/i.test(fileName);

/**
 * The Mermaid source to draw: the selection (fences around it dropped), the whole text of a
 * Mermaid file, or the ```mermaid block holding `cursor` (the only one, when the cursor is in none).
 */
export function findMermaid(text: string, cursor: number, selection: string, mermaidFile: boolean): string | undefined {
  if (selection.trim()) {
    const fenced = [...selection.matchAll(FENCE)];
    return (fenced.length ? fenced[0]![3]! : selection).trim() || undefined;
  }
  if (mermaidFile) return text.trim() || undefined;
  const blocks = [...text.matchAll(FENCE)].map((m) => ({ start: m.index, end: m.index + m[0].length, body: m[3]!.trim() }));
  const here = blocks.find((b) => cursor >= b.start && cursor <= b.end) ?? (blocks.length === 1 ? blocks[0] : undefined);
  return here?.body || undefined;
}
