// The MCP server's name, as clients list it and as their configurations key it (no SDK import:
// the extension's Set Up MCP Server command uses it too).
export const MCP_SERVER_NAME = 'internvl-lens';
