// "Set Up MCP Server…": configures an agent (VS Code, Claude Code, Cline, Cursor) to start the
// bundled `internvl-lens mcp` with the model from this extension's settings. .vscode/mcp.json is
// written (merged: other servers are kept); the others are copied to the clipboard and shown.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import * as vscode from 'vscode';
import type { LensContext } from '../context';
import { MCP_SERVER_NAME } from '../mcp/serverName';
import { claudeCodeCommand, type CliRuntime, type McpClient, McpConfigMergeError, mcpLaunch, mcpServersJson, vscodeMcpJson } from '../mcp/clientConfig';
import { COMMANDS } from './ids';


/** `node` when it is on PATH; else VS Code's own runtime run as Node (ELECTRON_RUN_AS_NODE). */
function cliRuntime(extensionPath: string): CliRuntime {
  const cliPath = join(extensionPath, 'dist', 'cli.js');
  const names = process.platform === 'win32' ? ['node.exe'] : ['node'];
  const onPath = (process.env.PATH ?? '').split(delimiter).some((dir) => dir && names.some((n) => existsSync(join(dir, n))));
  return onPath ? { command: 'node', env: {}, cliPath } : { command: process.execPath, env: { ELECTRON_RUN_AS_NODE: '1' }, cliPath };
}

const CHOICES: (vscode.QuickPickItem & { client: McpClient })[] = [
  { client: 'vscode', label: 'VS Code', description: '.vscode/mcp.json', detail: 'Adds the server to this workspace\'s .vscode/mcp.json (other servers are kept), for Copilot\'s agent mode.' },
  { client: 'claude-code', label: 'Claude Code', description: 'claude mcp add …', detail: 'Copies the command line that registers the server with Claude Code.' },
  { client: 'cline', label: 'Cline', description: 'cline_mcp_settings.json', detail: 'Copies the mcpServers entry for Cline\'s MCP settings (Cline › MCP Servers › Configure).' },
  { client: 'cursor', label: 'Cursor', description: '~/.cursor/mcp.json', detail: 'Copies the mcpServers entry for Cursor\'s mcp.json.' },
];

async function showText(title: string, text: string, language: string): Promise<void> {
  await vscode.env.clipboard.writeText(text);
  const doc = await vscode.workspace.openTextDocument({ content: text, language });
  await vscode.window.showTextDocument(doc, { preview: true });
  void vscode.window.showInformationMessage(`InternVL Lens: ${title} copied to the clipboard.`);
}

async function writeVscodeConfig(ctx: LensContext, text: (existing: string | null) => string): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    await showText('the .vscode/mcp.json entry (open a folder to have it written)', text(null), 'json');
    return;
  }
  const uri = vscode.Uri.joinPath(folder.uri, '.vscode', 'mcp.json');
  let existing: string | null = null;
  try {
    const bytes = await vscode.workspace.fs.readFile(uri);
    if (bytes.byteLength > 4 * 1024 * 1024) throw new McpConfigMergeError(`${uri.fsPath} is over 4 MB, so it is left as it is: add the server to it by hand.`);
    existing = new TextDecoder().decode(bytes);
  } catch (err) {
    if (err instanceof McpConfigMergeError) throw err;
    if (!(err instanceof vscode.FileSystemError) || err.code !== 'FileNotFound') throw err;
  }
  const merged = text(existing);
  await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(folder.uri, '.vscode'));
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(merged));
  ctx.output.info(`MCP: wrote the ${MCP_SERVER_NAME} server to ${uri.fsPath}`);
  await vscode.window.showTextDocument(uri, { preview: true });
  void vscode.window.showInformationMessage(`InternVL Lens: the MCP server is in ${vscode.workspace.asRelativePath(uri)}; start it from that file (or the MCP Servers view) and use it in agent mode.`);
}

/** The command; `client` skips the quick pick (tests, walkthroughs). */
export function setUpMcpServer(ctx: LensContext) {
  return async (client?: McpClient): Promise<void> => {
    const config = ctx.config;
    if (config.engine === 'local' && (!config.modelPath || !config.mmprojPath)) {
      const pick = await vscode.window.showWarningMessage('InternVL Lens: no model is set up yet (internvlLens.modelPath and mmprojPath). The MCP server needs one.', 'Download Model…', 'Set Up Anyway');
      if (pick === 'Download Model…') {
        await vscode.commands.executeCommand(COMMANDS.downloadModel);
        return;
      }
      if (pick !== 'Set Up Anyway') return;
    }
    const chosen = client ?? (await vscode.window.showQuickPick(CHOICES, { title: 'Set Up the InternVL Lens MCP Server', placeHolder: 'Which agent should use it?', matchOnDetail: true }))?.client;
    if (!chosen) return;
    const launch = mcpLaunch(config, cliRuntime(ctx.extension.extensionPath));
    try {
      switch (chosen) {
        case 'vscode':
          await writeVscodeConfig(ctx, (existing) => vscodeMcpJson(existing, launch));
          break;
        case 'claude-code':
          await showText('the Claude Code command (run it in a terminal)', claudeCodeCommand(launch), 'shellscript');
          break;
        case 'cline':
        case 'cursor':
          await showText(`the ${chosen === 'cline' ? 'Cline' : 'Cursor'} mcpServers entry`, mcpServersJson(chosen, launch), 'json');
          break;
      }
    } catch (err) {
      if (!(err instanceof McpConfigMergeError)) throw err;
      // Never clobber a file we cannot merge: hand over the entry instead.
      await showText(`${err.message} The entry is`, vscodeMcpJson(null, launch), 'json');
    }
  };
}
