// Point in polygon on GeoJSON coordinates (longitude, latitude), even-odd rule: inside a polygon's outer ring
// and outside its holes. Planar, which is exact enough for "is this city inside that country" at 1:50m.
type Ring = number[][];

function inRing([x, y]: readonly [number, number], ring: Ring): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi! > y !== yj! > y && x < ((xj! - xi!) * (y - yi!)) / (yj! - yi!) + xi!) inside = !inside;
  }
  return inside;
}

export function inMultiPolygon(point: readonly [number, number], polygons: readonly Ring[][]): boolean {
  return polygons.some(([outer, ...holes]) => inRing(point, outer!) && !holes.some((h) => inRing(point, h)));
}

/** The shortest planar distance, in degrees, from a point to a polygon's rings (0 when inside). */
export function degreesFrom(point: readonly [number, number], polygons: readonly Ring[][]): number {
  if (inMultiPolygon(point, polygons)) return 0;
  const [px, py] = point;
  let best = Infinity;
  for (const polygon of polygons)
    for (const ring of polygon)
      for (let i = 1; i < ring.length; i++) {
        const [ax, ay] = ring[i - 1]!;
        const [bx, by] = ring[i]!;
        const [dx, dy] = [bx! - ax!, by! - ay!];
        const t = Math.max(0, Math.min(1, ((px - ax!) * dx + (py - ay!) * dy) / (dx * dx + dy * dy || 1)));
        best = Math.min(best, Math.hypot(px - (ax! + t * dx), py - (ay! + t * dy)));
      }
  return best;
}
