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

/**
 * InternVL's region-caption form (its RefCOCO region-caption training prompt): a question about a
 * region the user drew, the box in InternVL's referring form, 0..1000 of the image the model sees.
 * The model sees the whole image and the coordinates (a crop it would see alone).
 */
export function regionCaptionPrompt(box: readonly [number, number, number, number]): string {
  return `Please provide a short description for this region: <box>[[${box.join(', ')}]]</box>`;
}

/** The referring boxes (`<box>[[x1, y1, x2, y2]]</box>`) a question names, in 0..1 of the image the model sees. */
export function referredBoxes(question: string): [number, number, number, number][] {
  const boxes: [number, number, number, number][] = [];
  // Bounded: the question is at most 100 000 characters and the pattern has no nested repeats.
  for (const m of question.slice(0, 100_000).matchAll(/<box>\[\[(\d{1,4}), ?(\d{1,4}), ?(\d{1,4}), ?(\d{1,4})\]\]<\/box>/g)) {
    const [x1, y1, x2, y2] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
    if (x2 > x1 && y2 > y1 && x2 <= 1000 && y2 <= 1000) boxes.push([x1 / 1000, y1 / 1000, x2 / 1000, y2 / 1000]);
    if (boxes.length >= 20) break;
  }
  return boxes;
}
