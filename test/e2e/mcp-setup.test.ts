// Set Up MCP Server… and Ask About Images in Folder… in a real VS Code (code-server, the packaged
// VSIX): the server entry is merged into the workspace's .vscode/mcp.json next to the one already
// there, and the command it wrote (the VSIX's own dist/cli.js) really starts an MCP server that
// answers with the model from the settings; the folder command writes one result line per image.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, Page } from 'playwright-core';
import { encodePng, solidImage } from '../fixtures/png';
import { waitFor } from '../fixtures/wait';
import { tinyModel } from '../integration/support';
import { type CodeServer, explorerContextMenu, exthostLog, launchBrowser, newWorkbenchPage, QUICK_INPUT, REPO_ROOT, runCommand, saveLogs, startCodeServer } from './harness';

describe('MCP setup and folder batches in a real VS Code', () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  const grounding = tinyModel('grounding');
  const workspace = mkdtempSync(join(tmpdir(), 'lens-mcp-setup-'));
  const mcpJson = join(workspace, '.vscode', 'mcp.json');

  before(async () => {
    mkdirSync(join(workspace, '.vscode'));
    writeFileSync(mcpJson, JSON.stringify({ servers: { github: { type: 'http', url: 'https://api.example/mcp' } } }, null, 2));
    mkdirSync(join(workspace, 'shots'));
    writeFileSync(join(workspace, 'shots', 'a.png'), encodePng(800, 600, solidImage(800, 600, [230, 230, 230, 255])));
    writeFileSync(join(workspace, 'shots', 'b.png'), encodePng(400, 300, solidImage(400, 300, [230, 230, 230, 255])));
    writeFileSync(join(workspace, 'shots', 'broken.png'), Buffer.from('not a png at all'));
    const settings = { 'internvlLens.modelPath': grounding.modelPath, 'internvlLens.mmprojPath': grounding.mmprojPath, 'internvlLens.contextSize': 4096, 'internvlLens.threads': 2 };
    server = await startCodeServer({ workspace, settings, vsix: join(REPO_ROOT, 'dist', 'internvl-lens.vsix') });
    browser = await launchBrowser();
    page = await newWorkbenchPage(browser, server, { viewport: { width: 1400, height: 900 } });
  });

  after(async () => {
    if (server) await saveLogs(server, 'mcp-setup').catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  it('Set Up MCP Server… › VS Code merges the server into .vscode/mcp.json, and what it wrote starts a server that locates', async () => {
    await runCommand(page, 'InternVL Lens: Set Up MCP Server…', 20_000);
    await page.locator(`${QUICK_INPUT} .monaco-list-row`, { hasText: 'VS Code' }).first().click();
    const written = await waitFor(
      'mcp.json to name internvl-lens',
      () => {
        const j = JSON.parse(readFileSync(mcpJson, 'utf8')) as { servers: Record<string, { command: string; args: string[]; env?: Record<string, string>; type?: string; url?: string }> };
        return j.servers['internvl-lens'] ? j : null;
      },
      { timeoutMs: 20_000 },
    ).catch((err: unknown) => {
      console.log(exthostLog(server, 60));
      throw err;
    });
    assert.deepEqual(written.servers.github, { type: 'http', url: 'https://api.example/mcp' }, 'the other server is kept');
    const entry = written.servers['internvl-lens']!;
    assert.equal(entry.type, 'stdio');
    assert.ok(entry.args[0]!.endsWith(join('dist', 'cli.js')) && existsSync(entry.args[0]!), `the installed extension's CLI: ${entry.args[0]}`);
    assert.deepEqual(entry.args.slice(1), ['mcp', '--model', grounding.modelPath, '--mmproj', grounding.mmprojPath, '--context', '4096', '--threads', '2']);

    // Start it as VS Code would (its built-in llama-server unpacks into a scratch cache).
    const command = entry.command === 'node' ? process.execPath : entry.command;
    const transport = new StdioClientTransport({ command, args: entry.args, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', XDG_CACHE_HOME: join(workspace, '.cache'), ...entry.env } });
    const client = new Client({ name: 'mcp-setup-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const r = (await client.callTool({ name: 'locate', arguments: { image: join(workspace, 'shots', 'a.png'), target: 'the Save button' } })) as CallToolResult;
      assert.equal(r.isError, undefined, JSON.stringify(r.content));
      assert.deepEqual((r.structuredContent as { regions: { box: number[] }[] }).regions[0]!.box, [80, 120, 240, 240]);
    } finally {
      await client.close();
    }
  });

  it('Ask About Images in Folder… (the folder\'s context menu) writes one line per image, the broken one as an error', async () => {
    await explorerContextMenu(page, 'shots', 'Ask About Images in Folder…');
    await page.locator(`${QUICK_INPUT} .monaco-list-row`, { hasText: 'Locate something on each image' }).first().click();
    const input = page.locator(`${QUICK_INPUT} input.input`);
    await page.locator(QUICK_INPUT, { hasText: 'What to find on every image' }).waitFor({ timeout: 10_000 });
    await input.fill('the Save button');
    await input.press('Enter');
    // The save dialog (VS Code's simple one in code-server) proposes shots/internvl-lens-results.jsonl.
    await page.locator(QUICK_INPUT, { hasText: 'Where to write the results' }).waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
    const out = join(workspace, 'shots', 'internvl-lens-results.jsonl');
    const lines = await waitFor(
      'three result lines',
      () => {
        const l = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').filter(Boolean) : [];
        return l.length === 3 ? l.map((x) => JSON.parse(x) as { image: { path: string }; regions?: { box: number[] }[]; error?: { code: string } }) : null;
      },
      { timeoutMs: 60_000 },
    ).catch((err: unknown) => {
      console.log(exthostLog(server, 60));
      throw err;
    });
    const by = (name: string) => lines.find((l) => l.image.path.endsWith(name))!;
    assert.deepEqual(by('a.png').regions![0]!.box, [80, 120, 240, 240]);
    assert.deepEqual(by('b.png').regions![0]!.box, [40, 60, 120, 120]);
    assert.equal(by('broken.png').error!.code, 'bad-image');
    await page.locator('.tabs-container .tab', { hasText: 'internvl-lens-results.jsonl' }).waitFor({ timeout: 10_000 });
  });
});
