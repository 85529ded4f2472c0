export type { Region, Quad } from './region';
export { INTERNVL_BOX_SCALE, quadArea2, quadBounds } from './region';
export { parseAnswer, parseRegions, RegionStream, type AnswerSegment, type GroundingDebug } from './parse';
export { serialiseRegions, representableLabel } from './serialise';
export { GROUNDING_SPECIAL_TOKENS } from './tokens';
export { labelColour } from './colour';
export { isRefinable, PROMPT_PRESETS, PROMPT_PRESET_IDS, presetPrompt, referredBoxes, regionCaptionPrompt, type PromptPreset } from './prompts';
