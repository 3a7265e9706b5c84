/**
 * Auto-layout (elkjs, engine/design/layout.ts) of every preset: no overlapping nodes, every child
 * inside its "stack ×N" group, groups fitted to their children, the residual stream one straight
 * column top to bottom with even gaps, and the layout still lowering to the same model.
 */
import { describe, expect, it } from 'vitest';
import { isAxisType } from '@/engine/design/grammar';
import { LAYOUT, specToDesign } from '@/engine/design/raise';
import { absoluteBoxes, layoutDesign, layoutProblems, LAYOUT_SPACING, type LayoutBox, type LayoutInputNode } from '@/engine/design/layout';
import { designToSpec } from '@/engine/design/lower';
import type { DesignDoc } from '@/engine/design/document';
import { allPresets } from './presets';

const SIZES = [
  { vocabSize: 256, dModel: 128, nLayers: 2 },
  { vocabSize: 97, dModel: 64, nLayers: 5 },
];

function inputs(doc: DesignDoc): LayoutInputNode[] {
  return doc.nodes.map((n) => ({
    id: n.id,
    type: n.type,
    parent: n.parent,
    width: isAxisType(n.type) ? LAYOUT.axisWidth : LAYOUT.width,
    height: LAYOUT.heights[n.type] ?? 60,
  }));
}

/** The design with the layout's positions and stack sizes written in. */
function applied(doc: DesignDoc, boxes: Map<string, LayoutBox>): DesignDoc {
  return {
    ...doc,
    nodes: doc.nodes.map((n) => {
      const b = boxes.get(n.id)!;
      return { ...n, position: { x: b.x, y: b.y }, ...(n.type === 'stack' ? { size: { width: b.width, height: b.height } } : {}) };
    }),
  };
}

describe('auto-layout of every preset', () => {
  for (const preset of allPresets()) {
    for (const size of SIZES) {
      it(`${preset.name} at ${size.nLayers} layers`, async () => {
        const doc = specToDesign(preset.build(size), { preset: preset.name });
        const nodes = inputs(doc);
        const boxes = await layoutDesign(nodes, doc.edges);
        expect([...boxes.keys()].sort()).toEqual(doc.nodes.map((n) => n.id).sort());
        const abs = absoluteBoxes(nodes, boxes);
        expect(layoutProblems(nodes, abs)).toEqual([]);

        const type = new Map(doc.nodes.map((n) => [n.id, n.type]));
        const parent = new Map(doc.nodes.map((n) => [n.id, n.parent]));
        const cx = (id: string) => abs.get(id)!.x + abs.get(id)!.width / 2;
        for (const e of doc.edges) {
          if (isAxisType(type.get(e.source)!) || e.targetHandle === 'skip') continue;
          // The stream runs down: every stream edge goes from a node to one below it, in one straight column.
          expect(abs.get(e.target)!.y, `${e.source} → ${e.target}`).toBeGreaterThan(abs.get(e.source)!.y + abs.get(e.source)!.height - 0.5);
          expect(Math.abs(cx(e.source) - cx(e.target)), `${e.source} → ${e.target} column`).toBeLessThan(0.5);
          // Even spacing between plain nodes of one group.
          if (parent.get(e.source) === parent.get(e.target) && type.get(e.target) !== 'miras' && type.get(e.source) !== 'miras') {
            const gap = abs.get(e.target)!.y - (abs.get(e.source)!.y + abs.get(e.source)!.height);
            expect(gap, `${e.source} → ${e.target} gap`).toBeCloseTo(LAYOUT_SPACING.layer, 0);
          }
        }
        // Axis choices sit left of the block they feed, stacked in axis order.
        for (const e of doc.edges) {
          if (!isAxisType(type.get(e.source)!)) continue;
          expect(abs.get(e.source)!.x + abs.get(e.source)!.width).toBeLessThanOrEqual(abs.get(e.target)!.x);
        }
        // Each stack fits its children: padding on every side, nothing more.
        for (const s of doc.nodes.filter((n) => n.type === 'stack')) {
          const kids = doc.nodes.filter((n) => n.parent === s.id).map((n) => abs.get(n.id)!);
          const b = abs.get(s.id)!;
          const right = Math.max(...kids.map((k) => k.x + k.width));
          const bottom = Math.max(...kids.map((k) => k.y + k.height));
          expect(Math.min(...kids.map((k) => k.x)) - b.x).toBeCloseTo(LAYOUT_SPACING.stackPad, 0);
          expect(Math.min(...kids.map((k) => k.y)) - b.y).toBeCloseTo(LAYOUT_SPACING.stackHeader, 0);
          expect(b.x + b.width - right).toBeCloseTo(LAYOUT_SPACING.stackPad, 0);
          expect(b.y + b.height - bottom).toBeCloseTo(LAYOUT_SPACING.stackPad, 0);
        }
        // Moving nodes changes nothing about the model.
        expect(designToSpec(applied(doc, boxes))).toEqual(designToSpec(doc));
      });
    }
  }

  it('lays out a hand-drawn graph: a stray node, an unattached axis choice, a stack entered from the side', async () => {
    const nodes: LayoutInputNode[] = [
      { id: 'emb', type: 'embedding', parent: null, width: 210, height: 70 },
      { id: 's', type: 'stack', parent: null, width: 520, height: 380 },
      { id: 'n1', type: 'norm', parent: 's', width: 210, height: 46 },
      { id: 'm', type: 'mlp', parent: 's', width: 210, height: 62 },
      { id: 'r', type: 'residual', parent: 's', width: 210, height: 46 },
      { id: 'stray', type: 'mlp', parent: 's', width: 210, height: 62 },
      { id: 'gate', type: 'retention', parent: null, width: 200, height: 72 },
      { id: 'fn', type: 'norm', parent: null, width: 210, height: 46 },
      { id: 'head', type: 'head', parent: null, width: 210, height: 62 },
    ];
    const e = (source: string, target: string, targetHandle = 'in') => ({ source, sourceHandle: 'out', target, targetHandle });
    const edges = [e('emb', 'n1'), e('n1', 'm'), e('m', 'r', 'branch'), e('emb', 'r', 'skip'), e('r', 'fn'), e('fn', 'head')];
    const boxes = await layoutDesign(nodes, edges);
    const abs = absoluteBoxes(nodes, boxes);
    expect(layoutProblems(nodes, abs)).toEqual([]);
    expect(boxes.get('s')!.width).toBeLessThan(520);
    const cx = (id: string) => abs.get(id)!.x + abs.get(id)!.width / 2;
    expect(cx('emb')).toBeCloseTo(cx('n1'), 0);
    expect(cx('r')).toBeCloseTo(cx('fn'), 0);
  });

  it('layoutProblems names overlaps and children outside their group', () => {
    const nodes = [
      { id: 'a', parent: null },
      { id: 'b', parent: null },
      { id: 's', parent: null },
      { id: 'c', parent: 's' },
    ];
    const boxes = new Map<string, LayoutBox>([
      ['a', { x: 0, y: 0, width: 100, height: 50 }],
      ['b', { x: 90, y: 40, width: 100, height: 50 }],
      ['s', { x: 300, y: 0, width: 100, height: 100 }],
      ['c', { x: 350, y: 50, width: 100, height: 20 }],
    ]);
    expect(layoutProblems(nodes, boxes)).toEqual(['a overlaps b (10×10)', 'c sticks out of its group s']);
  });
});
