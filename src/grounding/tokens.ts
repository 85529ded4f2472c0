/**
 * InternVL's grounding markup. In the real model these are special (control) tokens, which
 * llama.cpp and most servers drop from decoded text unless told to keep them.
 */
export const GROUNDING_SPECIAL_TOKENS = ['<ref>', '</ref>', '<box>', '</box>', '<quad>', '</quad>'] as const;
