/**
 * A region the model pointed at, in coordinates normalised to 0..1 of the image the model was
 * shown. Other extensions and the CLI rely on this shape.
 *   box    [x1, y1, x2, y2], x2 > x1, y2 > y1
 *   point  [x, y]
 *   quad   four corners [x1, y1, x2, y2, x3, y3, x4, y4] in the model's order (InternVL's
 *          `<quad>` answers for rotated text and skewed elements), drawn as a closed polygon
 */
export type Region =
  | { kind: 'box'; label: string | null; box: [x1: number, y1: number, x2: number, y2: number] }
  | { kind: 'point'; label: string | null; point: [x: number, y: number] }
  | { kind: 'quad'; label: string | null; quad: Quad };

/** Four corners, x and y in turn. */
export type Quad = [x1: number, y1: number, x2: number, y2: number, x3: number, y3: number, x4: number, y4: number];

/** InternVL writes box coordinates as integers in 0..1000 of the image width and height. */
export const INTERNVL_BOX_SCALE = 1000;

/** Twice the signed area of a quad's polygon (shoelace); 0 when its corners lie on one line. */
export function quadArea2(q: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < 4; i++) {
    const j = (i + 1) % 4;
    sum += q[2 * i]! * q[2 * j + 1]! - q[2 * j]! * q[2 * i + 1]!;
  }
  return sum;
}

/** The smallest box [x1, y1, x2, y2] holding a quad. */
export function quadBounds(q: readonly number[]): [number, number, number, number] {
  const xs = [q[0]!, q[2]!, q[4]!, q[6]!];
  const ys = [q[1]!, q[3]!, q[5]!, q[7]!];
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}
