// "Explain this Mermaid diagram": the diagram source under the cursor (or selected) in a
// Markdown or .mmd file, drawn to a PNG and explained like any other diagram.
import * as vscode from 'vscode';
import { renderMermaid } from '../capture/mermaid';
import { findMermaid, isMermaidFile } from '../capture/mermaidSource';
import type { LensContext } from '../context';
import { reportCaptureError } from './capture';
import { EXPLAIN_PROMPT } from './explain';

export const explainMermaid = (ctx: LensContext) => async (): Promise<void> => {
  const editor = vscode.window.activeTextEditor;
  const doc = editor?.document;
  const source =
    editor && doc
      ? findMermaid(doc.getText(), doc.offsetAt(editor.selection.active), doc.getText(editor.selection), isMermaidFile(doc.fileName, doc.languageId))
      : undefined;
  if (!doc || !source) {
    void vscode.window.showInformationMessage(
      'No Mermaid diagram here: put the cursor in a ```mermaid block of a Markdown file, select the diagram source, or open a .mmd file.',
    );
    return;
  }
  let attachment;
  try {
    const capture = await renderMermaid(source, { extensionUri: ctx.extension.extensionUri, log: (m) => ctx.output.warn(m), sourceName: doc.fileName.split(/[/\\]/).pop() ?? 'diagram' });
    attachment = await ctx.attachments.add(capture.bytes, capture.name);
  } catch (err) {
    reportCaptureError(ctx, err);
    return;
  }
  await ctx.chatView.reveal();
  void ctx.conversation.ask(EXPLAIN_PROMPT, [attachment]);
};
