// Prompts that make InternVL3 answer with regions, in the forms its training and evaluation use
// (see docs/internvl-grounding.md). The user types only the target; these wrap it.

export const PROMPT_PRESETS = {
  locate: {
    title: 'Locate element',
    placeholder: 'Which element? e.g. the Save button',
    // ScreenSpot-style GUI grounding: one box.
    prompt: (target: string) =>
      `Please provide the bounding box coordinate of the UI element this user instruction describes: <ref>${target}</ref>. Answer in the format of [[x1, y1, x2, y2]]`,
  },
  findAll: {
    title: 'Find all …',
    placeholder: 'Find all what? e.g. buttons',
    // Detection: every instance, each as <ref>name</ref><box>[[…]]</box>.
    prompt: (target: string) =>
      `Please detect all ${target} in the image and mark their positions. Give each one as <ref>its name</ref><box>[[x1, y1, x2, y2]]</box>.`,
  },
  pointTo: {
    title: 'Point to …',
    placeholder: 'Point to what? e.g. the search field',
    // The GUI-agent form InternVL answers with a pyautogui action, a point in 0..1.
    prompt: (target: string) =>
      'You are InternVL, a GUI agent. You are given a task and a screenshot of the screen. You need to perform a series of pyautogui actions to complete the task.\n' +
      `Task: click ${target}. Answer with exactly one action such as pyautogui.click(x=0.5, y=0.5), with x and y as fractions of the screenshot's width and height.`,
  },
  describeRegions: {
    title: 'Describe regions',
    placeholder: 'Anything to focus on? (optional)',
    prompt: (target: string) =>
      `Please describe the main regions of this image${target ? `, focusing on ${target}` : ''}. For each region write <ref>its name</ref><box>[[x1, y1, x2, y2]]</box> followed by one sentence about it.`,
  },
} as const;

export type PromptPreset = keyof typeof PROMPT_PRESETS;
export const PROMPT_PRESET_IDS = Object.keys(PROMPT_PRESETS) as PromptPreset[];

/** The question as the chat shows it, and the prompt the model gets. */
export function presetPrompt(preset: PromptPreset, target: string): { question: string; prompt: string } {
  const p = PROMPT_PRESETS[preset];
  const t = target.trim();
  return { question: t ? `${p.title.replace(' …', '')}: ${t}` : p.title, prompt: p.prompt(t) };
}

/** The presets that look for a target, where a zoom-in second look can place it better (src/images/refine.ts). */
export function isRefinable(preset: PromptPreset): boolean {
  return preset === 'locate' || preset === 'findAll' || preset === 'pointTo';
}
