export type { Region } from './region';
export { INTERNVL_BOX_SCALE } from './region';
export { parseAnswer, parseRegions, type AnswerSegment } from './parse';
export { GROUNDING_SPECIAL_TOKENS } from './tokens';
