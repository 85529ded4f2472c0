/**
 * A region the model pointed at, in coordinates normalised to 0..1 of the image the model was
 * shown. Other extensions and the CLI rely on this shape.
 */
export type Region =
  | { kind: 'box'; label: string | null; box: [x1: number, y1: number, x2: number, y2: number] }
  | { kind: 'point'; label: string | null; point: [x: number, y: number] };

/** InternVL writes box coordinates as integers in 0..1000 of the image width and height. */
export const INTERNVL_BOX_SCALE = 1000;
