// Every command's id: the one table (no vscode import, so tests read it). package.json contributes
// exactly these (test/unit/one-home.test.ts checks commands, menus, keybindings and walkthrough
// links against it), and src/commands/index.ts registers each one.
export const COMMANDS = {
  explainImage: 'internvlLens.explainImage',
  openChat: 'internvlLens.openChat',
  openChatInEditor: 'internvlLens.openChatInEditor',
  clearHistory: 'internvlLens.clearHistory',
  newChat: 'internvlLens.newChat',
  stop: 'internvlLens.stop',
  showLog: 'internvlLens.showLog',
  engineMenu: 'internvlLens.engineMenu',
  loadModel: 'internvlLens.loadModel',
  unloadModel: 'internvlLens.unloadModel',
  restartEngine: 'internvlLens.restartEngine',
  captureRegion: 'internvlLens.captureRegion',
  captureScreen: 'internvlLens.captureScreen',
  captureWindow: 'internvlLens.captureWindow',
  pasteImage: 'internvlLens.pasteImage',
  clearCaptures: 'internvlLens.clearCaptures',
  locateElement: 'internvlLens.locateElement',
  exportAnnotated: 'internvlLens.exportAnnotated',
  ground: 'internvlLens.ground',
  explainMermaid: 'internvlLens.explainMermaid',
  setApiKey: 'internvlLens.setApiKey',
  clearApiKey: 'internvlLens.clearApiKey',
  downloadModel: 'internvlLens.downloadModel',
  useExistingModel: 'internvlLens.useExistingModel',
  trySampleImage: 'internvlLens.trySampleImage',
  chooseRuntime: 'internvlLens.chooseRuntime',
  setUpMcpServer: 'internvlLens.setUpMcpServer',
  askAboutFolder: 'internvlLens.askAboutFolder',
  explainVideo: 'internvlLens.explainVideo',
  explainVideoFrames: 'internvlLens.explainVideoFrames',
  recordScreen: 'internvlLens.recordScreen',
  stopRecording: 'internvlLens.stopRecording',
} as const;

export type CommandName = keyof typeof COMMANDS;
export type CommandId = (typeof COMMANDS)[CommandName];
